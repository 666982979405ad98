import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newEndpoint } from '@nsm-ts/sdk/api';
import { matchEndpoints } from '@nsm-ts/sdk/elements';
import { loadManifests, roleOf, type LabPlan } from './manifests.js';

const examples = fileURLToPath(new URL('../../../deploy/examples/', import.meta.url));
const load = (name: string): LabPlan => loadManifests([`${examples}${name}`], { nodes: 2 });

interface Link {
  client: string;
  ifname: string;
  label: string;
  endpoint: string;
  local: boolean;
}

/** Every request of the plan resolved, as the mesh would, to the one endpoint its labels select. */
function links(plan: LabPlan): Link[] {
  const endpoints = plan.pods.filter((p) => p.endpoint);
  return plan.pods.flatMap((pod) =>
    (pod.client?.requests ?? []).map((request) => {
      const ns = plan.services.find((s) => s.name === request.service);
      if (!ns) throw new Error(`no service ${request.service}`);
      const nses = endpoints
        .filter((e) => e !== pod && e.endpoint?.serviceNames.includes(ns.name))
        .map((e) =>
          newEndpoint({
            name: e.endpoint?.name ?? '',
            network_service_names: [ns.name],
            network_service_labels: { [ns.name]: { labels: e.endpoint?.labels ?? {} } },
          }),
        );
      const { candidates } = matchEndpoints(ns, nses, request.labels);
      expect(candidates, `${pod.name} ${request.ifname}`).toHaveLength(1);
      const name = candidates[0]?.nse.name;
      const endpoint = endpoints.find((e) => e.endpoint?.name === name);
      return {
        client: pod.name,
        ifname: request.ifname,
        label: request.labels['app'] ?? '',
        endpoint: name ?? '',
        local: endpoint?.node === pod.node,
      };
    }),
  );
}

describe('deploy/examples', () => {
  it('4g-epc is the topology of docs/epc-4g.md spread over two nodes', () => {
    const plan = load('4g-epc');
    expect(plan.warnings).toEqual([]);
    expect(plan.nodes).toEqual(['node-1', 'node-2']);
    const [ns] = plan.services;
    expect(plan.services).toHaveLength(1);
    expect(ns?.name).toBe('4g-network');
    expect(ns?.payload).toBe('IP');
    expect(
      ns?.matches.map((m) => [m.source_selector['app'], m.routes.map((r) => r.destination_selector['app'])]),
    ).toEqual([
      ['s1-mme', ['mme']],
      ['s6a', ['mme']],
      ['s11', ['mme']],
      ['s5s8-c', ['p-gw-c']],
      ['gx', ['p-gw-c']],
      ['sxb', ['p-gw-c']],
      ['s1-u', ['s-gw-u']],
      ['sxa', ['s-gw-u']],
      ['s5s8-u', ['s-gw-u']],
      ['sgi', ['tdf-u']],
      ['sxc', ['tdf-u']],
    ]);
    expect(ns?.matches.every((m) => !m.fallthrough && m.routes.length === 1)).toBe(true);

    expect(plan.pods).toHaveLength(9);
    const endpoints = plan.pods.filter((p) => roleOf(p) === 'endpoint');
    expect(Object.fromEntries(endpoints.map((p) => [p.name, p.endpoint]))).toEqual({
      mme: {
        name: 'mme',
        serviceNames: ['4g-network'],
        labels: { app: 'mme' },
        cidrPrefix: ['10.60.1.0/24'],
        mechanisms: ['KERNEL'],
      },
      'p-gw-c': {
        name: 'p-gw-c',
        serviceNames: ['4g-network'],
        labels: { app: 'p-gw-c' },
        cidrPrefix: ['10.60.2.0/24'],
        mechanisms: ['KERNEL'],
      },
      's-gw-u': {
        name: 's-gw-u',
        serviceNames: ['4g-network'],
        labels: { app: 's-gw-u' },
        cidrPrefix: ['10.60.3.0/24'],
        mechanisms: ['KERNEL'],
      },
      'tdf-u': {
        name: 'tdf-u',
        serviceNames: ['4g-network'],
        labels: { app: 'tdf-u' },
        cidrPrefix: ['10.60.4.0/24'],
        mechanisms: ['KERNEL'],
      },
    });
    const clients = plan.pods.filter((p) => roleOf(p) === 'client');
    const requests = Object.fromEntries(
      clients.map((p) => [
        p.name,
        p.client?.requests.map((r) => `${r.service}/${r.ifname}?app=${r.labels['app']}`),
      ]),
    );
    expect(requests).toEqual({
      hss: ['4g-network/nsm-0?app=s6a'],
      pcrf: ['4g-network/nsm-0?app=gx'],
      's-gw-c': ['4g-network/nsm-0?app=s11', '4g-network/nsm-1?app=s5s8-c', '4g-network/nsm-2?app=sxa'],
      'p-gw-u': ['4g-network/nsm-0?app=sgi', '4g-network/nsm-1?app=s5s8-u', '4g-network/nsm-2?app=sxb'],
      'tdf-c': ['4g-network/nsm-0?app=sxc'],
    });
    expect(Object.fromEntries(plan.pods.map((p) => [p.name, p.node]))).toEqual({
      mme: 'node-1',
      's-gw-u': 'node-1',
      pcrf: 'node-1',
      's-gw-c': 'node-1',
      'tdf-c': 'node-1',
      'p-gw-c': 'node-2',
      'tdf-u': 'node-2',
      hss: 'node-2',
      'p-gw-u': 'node-2',
    });

    const found = links(plan);
    expect(
      found
        .map((l) => `${l.client}/${l.ifname} ${l.label} -> ${l.endpoint} ${l.local ? 'local' : 'remote'}`)
        .sort(),
    ).toEqual([
      'hss/nsm-0 s6a -> mme remote',
      'p-gw-u/nsm-0 sgi -> tdf-u local',
      'p-gw-u/nsm-1 s5s8-u -> s-gw-u remote',
      'p-gw-u/nsm-2 sxb -> p-gw-c local',
      'pcrf/nsm-0 gx -> p-gw-c remote',
      's-gw-c/nsm-0 s11 -> mme local',
      's-gw-c/nsm-1 s5s8-c -> p-gw-c remote',
      's-gw-c/nsm-2 sxa -> s-gw-u local',
      'tdf-c/nsm-0 sxc -> tdf-u remote',
    ]);
    expect(found.filter((l) => l.local).length).toBeGreaterThanOrEqual(3);
    expect(found.filter((l) => !l.local).length).toBeGreaterThanOrEqual(3);
    // Interfaces per pod as docs/epc-4g.md counts them (client side plus links ending at each endpoint).
    const count = (name: string): number =>
      found.filter((l) => l.client === name || l.endpoint === name).length;
    expect(
      ['mme', 'p-gw-c', 's-gw-u', 'tdf-u', 'hss', 'pcrf', 's-gw-c', 'p-gw-u', 'tdf-c'].map(count),
    ).toEqual([2, 3, 2, 2, 1, 1, 3, 3, 1]);
  });

  it('kernel2kernel: one client and one endpoint on the same node', () => {
    const plan = load('kernel2kernel');
    expect(plan.warnings).toEqual([]);
    expect(plan.services.map((s) => [s.name, s.payload])).toEqual([['kernel2kernel', 'ETHERNET']]);
    expect(plan.pods.map((p) => [p.name, roleOf(p), p.node])).toEqual([
      ['nsc-kernel', 'client', 'node-1'],
      ['nse-kernel', 'endpoint', 'node-1'],
    ]);
    expect(plan.pods[1]?.endpoint?.cidrPrefix).toEqual(['10.70.0.0/24']);
    expect(links(plan).map((l) => [l.client, l.endpoint, l.local])).toEqual([
      ['nsc-kernel', 'nse-kernel', true],
    ]);
  });

  it('kernel2ethernet2kernel: the client on node-1 reaches the endpoint on node-2', () => {
    const plan = load('kernel2ethernet2kernel');
    expect(plan.warnings).toEqual([]);
    expect(plan.services.map((s) => [s.name, s.payload])).toEqual([['kernel2ethernet2kernel', 'ETHERNET']]);
    expect(plan.pods.map((p) => [p.name, roleOf(p), p.node])).toEqual([
      ['nsc-kernel-remote', 'client', 'node-1'],
      ['nse-kernel-remote', 'endpoint', 'node-2'],
    ]);
    expect(links(plan).map((l) => [l.client, l.endpoint, l.local])).toEqual([
      ['nsc-kernel-remote', 'nse-kernel-remote', false],
    ]);
  });

  it('secure-intranet: client → firewall (passthrough) → vpn-gateway', () => {
    const plan = load('secure-intranet');
    expect(plan.warnings).toEqual([]);
    const firewall = plan.pods.find((p) => p.name === 'firewall');
    expect(firewall && roleOf(firewall)).toBe('passthrough');
    expect(firewall?.endpoint).toEqual({
      name: 'firewall',
      serviceNames: ['secure-intranet'],
      labels: { app: 'firewall' },
      cidrPrefix: [],
      mechanisms: ['KERNEL'],
    });
    expect(plan.pods.find((p) => p.name === 'vpn-gateway')?.endpoint?.cidrPrefix).toEqual(['172.16.1.0/28']);
    expect(links(plan).map((l) => [l.client, l.endpoint, l.local])).toEqual([
      ['intranet-client', 'firewall', true],
      ['firewall', 'vpn-gateway', false],
    ]);
  });

  it('brownfield-vnf: two CNFs on two nodes reach a VNF outside the mesh, declared by its VXLAN URL', () => {
    const plan = loadManifests([join(examples, 'brownfield-vnf')], { nodes: 2 });
    const by = (name: string) => plan.pods.find((p) => p.name === name);
    expect(plan.pods.map((p) => [p.name, p.node, roleOf(p)]).sort()).toEqual([
      ['cnf-a', 'node-1', 'client'],
      ['cnf-b', 'node-2', 'client'],
      ['firewall-vm', 'fabric', 'host'],
      ['legacy-fw', 'fabric', 'external'],
      ['web-vm', 'fabric', 'host'],
    ]);
    expect(by('legacy-fw')?.external?.url).toMatch(/^vxlan:\/\/198\.18\.0\.50:4789\?vni=5001-5004&/);
    expect(by('firewall-vm')?.host?.address).toBe('198.18.0.50/24');
    expect(plan.warnings).toEqual([]);
  });

  it('all examples load together: no clashing names or address pools', () => {
    const plan = loadManifests([examples], { nodes: 2 });
    expect(plan.services).toHaveLength(11);
    // 4g-epc, 4g-epc-eir, kernel2kernel, kernel2ethernet2kernel, secure-intranet, the three memif
    // examples, sriov-kernel2kernel, sriov2kernel (the two share their ConfigMap sriov-config),
    // brownfield-vnf (two fabric hosts, the external endpoint's gateway, two CNFs).
    expect(plan.pods).toHaveLength(9 + 2 + 2 + 2 + 3 + 3 + 2 + 2 + 2 + 2 + 5);
    // The SR-IOV pods get a token each of the emulated NIC's pool on node-1.
    const tokens = plan.pods.filter((p) => p.sriovTokens).map((p) => [p.name, Object.keys(p.sriovTokens!)]);
    expect(tokens).toEqual([
      ['nsc-sriov', ['NSM_SRIOV_TOKENS_worker.domain/10G']],
      ['nse-sriov', ['NSM_SRIOV_TOKENS_worker.domain/10G']],
      ['nsc-sriov-remote', ['NSM_SRIOV_TOKENS_worker.domain/10G']],
    ]);
    expect(plan.sriov?.config.physicalFunctions.map((pf) => pf.address)).toEqual(['0000:01:00.0']);
    const memif = plan.pods.filter((p) => p.endpoint?.mechanisms.includes('MEMIF')).map((p) => p.name);
    expect(memif.sort()).toEqual(['nse-kernel2memif', 'nse-memif']);
    const memifClients = plan.pods.filter((p) => p.client?.requests.some((r) => r.mechanism === 'MEMIF'));
    expect(memifClients.map((p) => p.name).sort()).toEqual([
      'nsc-memif',
      'nsc-memif-remote',
      'nsc-memif2kernel',
    ]);
  });
});

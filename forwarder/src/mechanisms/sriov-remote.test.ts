/**
 * SR-IOV across nodes, as root, on emulated hardware: two nodes, each with an emulated NIC whose
 * PF is cabled to one bridge (the physical network). A client with a token on node A reaches a
 * plain kernel endpoint on node B over the VLAN mechanism: each pod gets a VF of the pool, and
 * they ping each other across the "wire". Close gives both VFs back under their names. A VLAN
 * asked of an emulated PF, a node without the pool, and a VLAN offer without its pool are refused,
 * naming why, with every VF back in its node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newMechanism } from '@nsm-ts/sdk/api';
import { Code, createContext, metadata, toHandler, type NetworkServiceElement } from '@nsm-ts/sdk/core';
import { begin, exposeNextHopMechanism, mechanisms, nextHopMechanism } from '@nsm-ts/sdk/elements';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { NamespaceFixture, ipIn, randomSuffix, succeedsIn } from '../kernel/testing/netns-fixture.js';
import { forwarderOffer } from '../offer.js';
import { createSriovPool, discoverSriov } from '../sriov/index.js';
import { fakeSriovConfig } from '../sriov/testing/fake-config.js';
import { createFakeSriov } from '../sriov/testing/fake-sriov.js';
import { createKernelDeps } from './deps.js';
import { kernelMechanism } from './kernel.js';
import { noopMechanism } from './noop.js';
import { vlanMechanism } from './sriov-remote.js';
import { NSC_IP, NSE_IP, clientRequest, endpointDouble, rejectionOf, remoteHop } from './testing/harness.js';
import { linksOf } from './testing/inspect.js';

const ctx = createContext();

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/sriov-remote'), () => {
  const fx = new NamespaceFixture();
  afterEach(() => fx.cleanup());

  /** A node with one emulated PF (2 VFs) cabled to the bridge in `wire`, its pool and deps. */
  async function node(label: string, wire: string, bus: string, domain = 'worker.domain') {
    const ns = fx.add(label);
    const hw = createFakeSriov({
      pfs: [
        {
          address: `0000:${bus}:00.0`,
          driver: 'i40e',
          vfDriver: 'iavf',
          netdev: { name: 'ens1f0', netns: ns.name, uplink: { netns: wire, bridge: 'phys0' } },
          vfs: 2,
        },
      ],
    });
    fx.defer(() => hw.close());
    const config = fakeSriovConfig(hw, [{ serviceDomains: [domain] }]);
    const pool = createSriovPool(discoverSriov(config, { root: hw.root }), {
      vfioDir: hw.vfioDir,
      bindTimeoutMs: 5000,
    });
    const deps = await createKernelDeps({
      name: `fwd-${randomSuffix()}`,
      tunnelIp: '192.168.77.1',
      vxlanPort: 4789,
      nodeNs: ns.path,
      adopt: false,
    });
    fx.defer(() => deps.close());
    return { ns, pool, deps };
  }

  async function setUp(o: { domainB?: string } = {}) {
    const wire = fx.add('phys');
    ipIn(wire.name, 'link', 'add', 'phys0', 'type', 'bridge');
    ipIn(wire.name, 'link', 'set', 'phys0', 'up');
    const a = await node('na', wire.name, '01');
    const b = await node('nb', wire.name, '02', o.domainB);
    const [nsc, nse] = [fx.add('sc'), fx.add('se')];
    const endpoint = endpointDouble({ nsPath: nse.path, name: 'nse0' });
    const chainOf = (
      n: typeof a,
      offer: Parameters<typeof nextHopMechanism>[0],
      next: NetworkServiceElement,
    ) =>
      toHandler([
        begin(),
        metadata('server'),
        exposeNextHopMechanism(),
        mechanisms({
          KERNEL: kernelMechanism(n.deps, { sriov: n.pool }),
          VLAN: vlanMechanism(n.deps, { sriov: n.pool }),
          NOOP: noopMechanism(),
        }),
        metadata('client'),
        nextHopMechanism(offer),
        next,
      ]);
    const fwdB = chainOf(b, () => [newMechanism('KERNEL', 'LOCAL')], endpoint);
    const offer = forwarderOffer({ tunnelIp: '192.168.77.1', vxlanPort: 4789, localTypes: ['KERNEL'] });
    const fwdA = chainOf(a, offer, remoteHop(fwdB));
    return { a, b, nsc, nse, endpoint, fwdA };
  }

  const vfRequest = (nscPath: string, token: string, labels: Record<string, string> = {}) => {
    const req = clientRequest(`sr-${randomSuffix()}`, nscPath, {
      mechanism: newMechanism('KERNEL', 'LOCAL', {
        inodeURL: `file://${nscPath}`,
        name: 'nsm0',
        tokenID: token,
        ...(labels['vlan-id'] ? { 'vlan-id': labels['vlan-id'] } : {}),
      }),
    });
    req.connection!.labels = { sriovToken: 'worker.domain/10G', ...labels };
    return req;
  };
  const vfNames = (ns: string) =>
    linksOf(ns)
      .map((l) => l.ifname)
      .filter((n) => n.startsWith('ens1f0'))
      .sort();
  const ALL = ['ens1f0', 'ens1f0v0', 'ens1f0v1'];

  it('gives the client a VF on its node and the endpoint one on its own; they ping across the physical network; close gives both back', async () => {
    const { a, b, nsc, nse, endpoint, fwdA } = await setUp();
    const token = a.pool.tokens()[0]!.id;
    const conn = await fwdA.request(ctx, vfRequest(nsc.path, token));
    expect(linksOf(nsc.name).map((l) => [l.ifname, l.linkinfo?.info_kind])).toEqual([['nsm0', 'macvlan']]);
    expect(linksOf(nse.name).map((l) => [l.ifname, l.linkinfo?.info_kind])).toEqual([['nse0', 'macvlan']]);
    expect(vfNames(a.ns.name)).toEqual(['ens1f0', 'ens1f0v1']);
    expect(vfNames(b.ns.name)).toHaveLength(2);
    expect(a.pool.tokens().map((t) => t.holder)).toEqual([`${conn.id}/nsc`, undefined]);
    expect(b.pool.tokens().filter((t) => t.holder === `${conn.id}@remote/nse`)).toHaveLength(1);
    expect(succeedsIn(nsc.name, 'ping', '-c2', '-W2', NSE_IP)).toBe(true);
    expect(succeedsIn(nse.name, 'ping', '-c1', '-W2', NSC_IP)).toBe(true);
    // A refresh keeps both where they are.
    await fwdA.request(ctx, { connection: conn, mechanism_preferences: [] });
    expect(linksOf(nse.name).map((l) => l.ifname)).toEqual(['nse0']);
    await fwdA.close(ctx, conn);
    expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
    expect(vfNames(a.ns.name)).toEqual(ALL);
    expect(vfNames(b.ns.name)).toEqual(ALL);
    expect([...a.pool.tokens(), ...b.pool.tokens()].map((t) => t.holder)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(endpoint.closes).toBe(1);
  });

  it('a VLAN asked of an emulated PF is refused naming the PF, and every VF goes back', async () => {
    const { a, b, nsc, endpoint, fwdA } = await setUp();
    const token = a.pool.tokens()[0]!.id;
    const err = await rejectionOf(fwdA.request(ctx, vfRequest(nsc.path, token, { 'vlan-id': '100' })));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toMatch(
      /cannot set VLAN 100 on VF \d \(0000:0[12]:00\.[12]\) through its PF ens1f0: .*EOPNOTSUPP.*expected a PF driver with VF settings/,
    );
    expect(endpoint.closes).toBe(1);
    expect(linksOf(nsc.name)).toEqual([]);
    expect(vfNames(a.ns.name)).toEqual(ALL);
    expect(vfNames(b.ns.name)).toEqual(ALL);
    expect([...a.pool.tokens(), ...b.pool.tokens()].every((t) => t.holder === undefined)).toBe(true);
  });

  it('refuses a node whose NICs are of another service domain, naming its pools', async () => {
    const { a, b, nsc, fwdA } = await setUp({ domainB: 'other.domain' });
    const err = await rejectionOf(fwdA.request(ctx, vfRequest(nsc.path, a.pool.tokens()[0]!.id)));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toContain(
      'an SR-IOV client of pool worker.domain/10G reached this node, whose NICs offer other.domain/10G',
    );
    expect(vfNames(a.ns.name)).toEqual(ALL);
    expect(vfNames(b.ns.name)).toEqual(ALL);
    expect(a.pool.tokens().every((t) => t.holder === undefined)).toBe(true);
  });

  it('refuses a VLAN mechanism without its pool, and a client with tokenID but no sriovToken label', async () => {
    const { a, nsc, fwdA } = await setUp();
    const req = vfRequest(nsc.path, a.pool.tokens()[0]!.id);
    req.connection!.labels = {};
    const unlabelled = await rejectionOf(fwdA.request(ctx, req));
    expect(unlabelled.code).toBe(Code.INVALID_ARGUMENT);
    expect(unlabelled.message).toContain('the request has no sriovToken label naming its pool');
    const vlan = vlanMechanism(a.deps, { sriov: a.pool });
    const bare = toHandler([metadata('server'), vlan]);
    const conn = clientRequest('v-1', nsc.path);
    conn.connection!.mechanism = newMechanism('VLAN', 'REMOTE', {});
    const err = await rejectionOf(bare.request(ctx, conn));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('VLAN mechanism without sriov_pool');
    expect(vfNames(a.ns.name)).toEqual(ALL);
  });
});

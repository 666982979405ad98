import { afterEach, describe, expect, it } from 'vitest';
import { loadManifests } from './manifests.js';
import { clientYaml, endpointYaml, Fixtures, problemsOf, serviceYaml } from './testing.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const configMap = (config: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sriov-config\ndata:\n  config.yaml: |\n${config
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\n`;
const PF =
  'physicalFunctions:\n  0000:01:00.0:\n    pfKernelDriver: i40e\n    vfKernelDriver: iavf\n    capabilities: [10G]\n    serviceDomains: [worker.domain]';
const limits = (n: number) => `      resources:\n        limits:\n          worker.domain/10G: ${n}\n`;
const client = (name: string, n: number, query = 'sriovToken=worker.domain/10G') =>
  clientYaml(name, `kernel://svc/nsm-1?${query}`, 'nodeName: node-1') + limits(n);

describe('SR-IOV in the lab manifests', () => {
  it('hands each pod asking for VFs tokens of distinct VFs of its node, as a device plugin does', () => {
    const dir = fx.write({
      'm.yaml': [serviceYaml('svc'), configMap(PF), client('a', 1), client('b', 2)].join('---\n'),
    });
    const plan = loadManifests([dir], { nodes: 2 });
    const ids = plan.pods.map((p) =>
      (p.sriovTokens?.['NSM_SRIOV_TOKENS_worker.domain/10G'] ?? '').split(','),
    );
    expect(ids.map((l) => l.length)).toEqual([1, 2]);
    expect(new Set(ids.flat()).size).toBe(3);
  });

  it('names a node without enough VFs, a bad config, a bad pool in a URL and a bad count', () => {
    const dir = fx.write({
      'm.yaml': [
        serviceYaml('svc'),
        configMap(PF),
        client('a', 3),
        client('b', 2),
        client('c', 1, 'sriovToken=not-a-pool'),
        client('d', 0),
        client('e', 1, 'sriovToken=worker.domain/10G&mac=02:00:00:00:00:0g&vlan-id=100'),
        client('f', 1, 'sriovToken=worker.domain/10G&vlan-id=5000'),
      ].join('---\n'),
    });
    const text = problemsOf([dir]).join('\n');
    expect(text).toContain(
      'query["mac"] is "02:00:00:00:00:0g"; expected a unicast MAC address such as 02:00:00:00:00:01',
    );
    expect(text).toContain('query["vlan-id"] is "5000"; expected a VLAN id 1..4094');
    expect(text).not.toContain('query["vlan-id"] is "100"');
    expect(text).toContain('pod b asks for 2 VF(s) of worker.domain/10G, but node-1 has 1 left of 4');
    expect(text).toContain(
      'query["sriovToken"] is "not-a-pool"; expected an SR-IOV pool <serviceDomain>/<capability>',
    );
    expect(text).toContain(
      'resources.limits worker.domain/10G is 0; expected a whole number of VFs, at least 1',
    );
    const bad = fx.write({
      'm.yaml': [
        serviceYaml('svc'),
        configMap('physicalFunctions:\n  nope: {}'),
        endpointYaml('e', { NSM_SERVICE_NAMES: 'svc', NSM_CIDR_PREFIX: '10.1.0.0/24' }),
      ].join('---\n'),
    });
    expect(problemsOf([bad]).join('\n')).toContain(
      'SR-IOV config ConfigMap sriov-config data.config.yaml is invalid',
    );
  });
});

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadManifests, roleOf } from './manifests.js';
import { clientYaml, endpointYaml, Fixtures, problemsOf, serviceYaml } from './testing.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

function nseYaml(name: string, url: string, extra = ''): string {
  return (
    `apiVersion: networkservicemesh.io/v1\nkind: NetworkServiceEndpoint\nmetadata:\n  name: ${name}\n${extra}` +
    `spec:\n  network_service_names: [svc]\n  network_service_labels:\n    svc:\n      labels: { app: vnf }\n` +
    `  url: ${url}\n`
  );
}

function hostYaml(name: string, address: string, more = ''): string {
  return (
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  annotations:\n    nsm-ts.io/fabric-address: ${address}\n${more}` +
    `spec:\n  containers:\n    - name: vm\n      image: vm\n      command: [sleep, infinity]\n`
  );
}

const URL = "'vxlan://198.18.0.50?vni=100-103&ip=10.60.0.1/24&routes=10.77.0.0/24'";

function load(docs: string[]) {
  const dir = fx.write({ 'm.yaml': docs.join('---\n') });
  return loadManifests([join(dir, 'm.yaml')], { nodes: 2 });
}

function problems(docs: string[]): string[] {
  const dir = fx.write({ 'm.yaml': docs.join('---\n') });
  return problemsOf([join(dir, 'm.yaml')]);
}

describe('external endpoints and fabric hosts in the lab', () => {
  it('plans a gateway for a NetworkServiceEndpoint with a vxlan:// URL and a fabric host for an annotated Pod', () => {
    const plan = load([
      serviceYaml('svc', 'payload: ETHERNET'),
      nseYaml(
        'vnf',
        URL,
        '  annotations:\n    nsm-ts.io/check-targets: 10.77.0.10, http://10.77.0.10:8080/\n',
      ),
      hostYaml('vm', '198.18.0.50/24', '    nsm-ts.io/fabric-mtu: "1400"\n'),
      clientYaml('cnf', 'kernel://svc/nsm-1?app=cnf'),
    ]);
    const vnf = plan.pods.find((p) => p.name === 'vnf')!;
    expect(roleOf(vnf)).toBe('external');
    expect(vnf).toMatchObject({
      node: 'fabric',
      endpoint: { name: 'vnf', serviceNames: ['svc'], labels: { app: 'vnf' }, cidrPrefix: [] },
      external: { url: URL.slice(1, -1), checks: ['10.77.0.10', 'http://10.77.0.10:8080/'] },
    });
    const vm = plan.pods.find((p) => p.name === 'vm')!;
    expect(roleOf(vm)).toBe('host');
    expect(vm).toMatchObject({ node: 'fabric', host: { address: '198.18.0.50/24', mtu: 1400 } });
    expect(vm.containers?.map((c) => c.name)).toEqual(['vm']);
    // The client's request is served: no "matches no endpoint" warning.
    expect(plan.warnings).toEqual([]);
  });

  it.each([
    ['url: tcp://10.0.0.1:5000', 'a NetworkServiceEndpoint here declares an external VNF: expected vxlan://'],
    ["url: 'vxlan://198.18.0.50?vni=0&ip=10.60.0.1/24'", 'vni is "0"'],
    ["url: 'vxlan://198.18.0.50?vni=1'", 'no ip'],
  ])('refuses %s', (url, message) => {
    const lines = problems([
      serviceYaml('svc', 'payload: ETHERNET'),
      nseYaml('vnf', url.replace('url: ', '')),
    ]);
    expect(lines.join('\n')).toContain(message);
  });

  it('refuses unknown services, a name an endpoint pod has, and VNIs another declaration uses at the same VTEP', () => {
    const lines = problems([
      serviceYaml('svc', 'payload: ETHERNET'),
      nseYaml('vnf', URL),
      nseYaml('vnf-2', "'vxlan://198.18.0.50?vni=103-110&ip=10.61.0.1/24'"),
      nseYaml('nse', "'vxlan://198.18.0.51?vni=1&ip=10.62.0.1/24'").replace('[svc]', '[nope]'),
      endpointYaml('nse', { NSM_SERVICE_NAMES: 'svc', NSM_CIDR_PREFIX: '10.9.0.0/24' }),
    ]).join('\n');
    expect(lines).toContain(
      'VNIs 103-110 at VTEP 198.18.0.50:4789 overlap VNIs 100-103 of external endpoint "vnf"',
    );
    expect(lines).toContain(
      'external endpoint provides network service "nope", which no NetworkService defines',
    );
    expect(lines).toContain('endpoint name "nse" is also the pod or endpoint at');
  });

  it('refuses fabric addresses off the fabric, taken by the lab or another host, and hosts that are also clients', () => {
    const lines = problems([
      serviceYaml('svc', 'payload: ETHERNET'),
      hostYaml('a', '10.0.0.5/24'),
      hostYaml('b', '198.18.0.11/24'),
      hostYaml('c', '198.18.0.50/24'),
      hostYaml('d', '198.18.0.50/24'),
      hostYaml('e', '198.18.0.60/24', '    networkservicemesh.io: kernel://svc/nsm-1\n'),
      hostYaml('f', '198.18.0.61/24', '    nsm-ts.io/fabric-mtu: "99"\n'),
      hostYaml('g', 'not-an-address'),
    ]).join('\n');
    expect(lines).toContain(
      "fabric address 10.0.0.5/24 is not on the lab's fabric; expected an address of 198.18.0.0/24",
    );
    expect(lines).toContain("fabric address 198.18.0.11/24 is node-1's");
    expect(lines).toContain("fabric address 198.18.0.50/24 is pod c's");
    expect(lines).toContain('makes the pod a host outside the mesh; expected no client annotation');
    expect(lines).toContain('annotation nsm-ts.io/fabric-mtu is "99"; expected an MTU 576..9000');
    expect(lines).toContain('annotation nsm-ts.io/fabric-address: invalid CIDR "not-an-address"');
  });

  it('warns when a service of payload IP is served over VXLAN, which carries Ethernet', () => {
    const plan = load([serviceYaml('svc', 'payload: IP'), nseYaml('vnf', URL)]);
    expect(plan.warnings.join('\n')).toContain(
      'network service "svc" has payload IP, but VXLAN carries Ethernet frames: the VNF must answer ARP',
    );
  });

  it('refuses check targets that are neither addresses nor http URLs', () => {
    const lines = problems([
      serviceYaml('svc', 'payload: ETHERNET'),
      nseYaml('vnf', URL, '  annotations:\n    nsm-ts.io/check-targets: 10.77.0.10, ftp://x/\n'),
    ]).join('\n');
    expect(lines).toContain('"ftp://x/" is neither an IP address nor an http(s):// URL');
  });
});

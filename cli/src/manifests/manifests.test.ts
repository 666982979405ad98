import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManifestError } from './errors.js';
import { loadManifests, roleOf } from './manifests.js';
import { clientYaml, endpointYaml, Fixtures, problemsOf, serviceYaml } from './testing.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const svc = serviceYaml('svc', 'payload: ETHERNET');
const nse = (name: string, cidr: string, spec = ''): string =>
  endpointYaml(name, { NSM_SERVICE_NAMES: 'svc', NSM_CIDR_PREFIX: cidr }, spec);

describe('loadManifests: good manifests', () => {
  it('reads directories recursively in sorted order and places unplaced pods round-robin', () => {
    const dir = fx.write({
      'b/clients.yaml': [clientYaml('c1', 'kernel://svc/nsm-1'), clientYaml('c2', 'kernel://svc/nsm-1')].join(
        '---\n',
      ),
      'a/service.yml': svc,
      'a/nse.yaml': nse('e1', '10.0.0.0/24', 'nodeName: node-2'),
      'c/more.yaml': clientYaml('c3', 'kernel://svc/nsm-1?app=x&tier=db'),
      'README.md': 'not yaml',
      '.hidden/x.yaml': 'not: [valid',
    });
    const plan = loadManifests([dir], { nodes: 2 });
    expect(plan.nodes).toEqual(['node-1', 'node-2']);
    expect(plan.services).toEqual([{ name: 'svc', payload: 'ETHERNET', matches: [], path_ids: [] }]);
    expect(plan.pods.map((p) => [p.name, p.node, roleOf(p)])).toEqual([
      ['e1', 'node-2', 'endpoint'],
      ['c1', 'node-1', 'client'],
      ['c2', 'node-2', 'client'],
      ['c3', 'node-1', 'client'],
    ]);
    expect(plan.pods[1]?.source).toEqual({ file: join(dir, 'b/clients.yaml'), line: 1 });
    expect(plan.pods[2]?.source).toEqual({ file: join(dir, 'b/clients.yaml'), line: 12 });
    expect(plan.pods[3]?.client).toEqual({
      requests: [{ mechanism: 'KERNEL', service: 'svc', ifname: 'nsm-1', labels: { app: 'x', tier: 'db' } }],
    });
    expect(plan.pods[0]?.endpoint).toEqual({
      name: 'e1',
      serviceNames: ['svc'],
      labels: {},
      cidrPrefix: ['10.0.0.0/24'],
      mechanisms: ['KERNEL'],
    });
    expect(plan.warnings).toEqual([]);
  });

  it('reads a NetworkService spec into the registry message', () => {
    const dir = fx.write({
      'ns.yaml': serviceYaml(
        'chain',
        [
          'payload: IP',
          'matches:',
          '  - source_selector: { app: firewall }',
          '    routes:',
          '      - destination_selector: { app: vpn }',
          '        weight: 3',
          '    fallthrough: true',
          '    metadata: { labels: { tier: edge } }',
          '  - routes: [ { destination_selector: { node: "{{.nodeName}}" } } ]',
        ].join('\n'),
      ),
    });
    expect(loadManifests([dir], { nodes: 1 }).services).toEqual([
      {
        name: 'chain',
        payload: 'IP',
        path_ids: [],
        matches: [
          {
            source_selector: { app: 'firewall' },
            routes: [{ destination_selector: { app: 'vpn' }, weight: 3 }],
            fallthrough: true,
            metadata: { labels: { tier: 'edge' } },
          },
          {
            source_selector: {},
            routes: [{ destination_selector: { node: '{{.nodeName}}' }, weight: 0 }],
            fallthrough: false,
            metadata: null,
          },
        ],
      },
    ]);
  });

  it('expands Deployment replicas, honours nodeSelector and NSM_NAME, and reads NSM_LABELS', () => {
    const deployment = (name: string, replicas: string, spec: string, annotations = ''): string =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n${replicas}` +
      `  selector:\n    matchLabels: { app: ${name} }\n  template:\n    metadata:\n      labels: { app: ${name} }\n` +
      `${annotations}    spec:\n${spec}      containers:\n        - name: x\n          image: y\n`;
    const dir = fx.write({
      'all.yaml': [
        svc,
        deployment(
          'web',
          '  replicas: 3\n',
          '',
          '      annotations: { networkservicemesh.io: "kernel://svc/nsm-1" }\n',
        ),
        deployment(
          'db',
          '',
          '      nodeSelector: { kubernetes.io/hostname: node-3, disk: ssd }\n',
          '',
        ).replace(
          '          image: y\n',
          '          image: y\n          env:\n            - { name: NSM_SERVICE_NAMES, value: svc }\n' +
            '            - { name: NSM_LABELS, value: "app:db, tier : backend" }\n' +
            '            - { name: NSM_NAME, value: database }\n' +
            '            - { name: NSM_CIDR_PREFIX, value: "10.1.0.0/24, fd00::/64" }\n',
        ),
        deployment(
          'none',
          '  replicas: 0\n',
          '',
          '      annotations: { networkservicemesh.io: "kernel://svc/nsm-1" }\n',
        ),
      ].join('---\n'),
    });
    const plan = loadManifests([dir], { nodes: 3 });
    expect(plan.pods.map((p) => [p.name, p.node, roleOf(p)])).toEqual([
      ['web-1', 'node-1', 'client'],
      ['web-2', 'node-2', 'client'],
      ['web-3', 'node-3', 'client'],
      ['db', 'node-3', 'endpoint'],
    ]);
    expect(plan.pods[3]?.endpoint).toEqual({
      name: 'database',
      serviceNames: ['svc'],
      labels: { app: 'db', tier: 'backend' },
      cidrPrefix: ['10.1.0.0/24', 'fd00::/64'],
      mechanisms: ['KERNEL'],
    });
    expect(plan.warnings).toEqual([
      `${fx.at(join(dir, 'all.yaml'), 'disk: ssd')}: nodeSelector "disk" is ignored in the lab; only kubernetes.io/hostname places pods`,
    ]);
  });

  it('warns about irrelevant kinds, pods without a role and unserved requests; skips non-YAML files in directories', () => {
    const dir = fx.write({
      'a.yaml': [
        'apiVersion: v1\nkind: Namespace\nmetadata: { name: nsm }\n',
        svc,
        'apiVersion: v1\nkind: Pod\nmetadata: { name: idle }\nspec:\n  containers: [ { name: a, image: b } ]\n',
        serviceYaml(
          'picky',
          'payload: IP\nmatches:\n  - source_selector: { app: a }\n    routes: [ { destination_selector: { app: b } } ]',
        ),
        clientYaml('lonely', 'kernel://picky/nsm-1?app=zzz'),
        '',
      ].join('---\n'),
      'notes.txt': 'hello',
    });
    const file = join(dir, 'a.yaml');
    const plan = loadManifests([dir, file], { nodes: 2 });
    expect(plan.pods.map((p) => p.name)).toEqual(['lonely']);
    expect(plan.warnings).toEqual([
      `${fx.at(file, 'Namespace')}: kind Namespace is not used by the lab; ignored`,
      `${fx.at(file, 'apiVersion', 2)}: Pod "idle" is neither a client (annotation networkservicemesh.io) nor an endpoint (env NSM_SERVICE_NAMES); it is ignored in the lab`,
      `${fx.at(file, 'kernel://picky')}: request for "picky" on nsm-1 with labels {app=zzz} matches no endpoint in these manifests`,
    ]);
  });
});

describe('loadManifests: files, YAML and kinds', () => {
  it('reports YAML syntax errors with their position and still checks the other documents', () => {
    const dir = fx.write({
      'bad.yaml': `${svc}---\nkind: [Pod\n---\napiVersion: v1\nkind: Gadget\nmetadata: { name: g }\n`,
    });
    const file = join(dir, 'bad.yaml');
    const lines = problemsOf([dir]);
    expect(lines).toHaveLength(2);
    // The parser reports a flow sequence left open where it gives up: the start of the next document.
    expect(lines[0]).toBe(
      `${file}:9:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]; expected valid YAML`,
    );
    expect(lines[1]).toBe(
      `${fx.at(file, 'Gadget')}: unknown kind "Gadget" (apiVersion "v1"); expected one of: networkservicemesh.io/v1 NetworkService, networkservicemesh.io/v1 NetworkServiceEndpoint, v1 Pod, apps/v1 Deployment (Namespace, ConfigMap, Service, ServiceAccount, Kustomization are accepted and ignored)`,
    );
  });

  it('reports wrong apiVersions, missing kinds, names and non-mapping documents', () => {
    const dir = fx.write({
      'x.yaml': [
        'apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: { name: d }\n',
        'apiVersion: v1\nmetadata: { name: k }\n',
        'apiVersion: v1\nkind: Pod\nmetadata: { labels: { a: b } }\n',
        'apiVersion: v1\nkind: Pod\nmetadata: { name: Bad_Name }\n',
        '- just\n- a list\n',
      ].join('---\n'),
    });
    const file = join(dir, 'x.yaml');
    expect(problemsOf([file])).toEqual([
      `${fx.at(file, 'apps/v1beta1')}: kind Deployment with apiVersion "apps/v1beta1"; expected apiVersion apps/v1`,
      `${fx.at(file, 'apiVersion: v1')}: kind is missing; expected a kind: one of networkservicemesh.io/v1 NetworkService, networkservicemesh.io/v1 NetworkServiceEndpoint, v1 Pod, apps/v1 Deployment (Namespace, ConfigMap, Service, ServiceAccount, Kustomization are accepted and ignored)`,
      `${fx.at(file, '{ labels')}: metadata.name is missing; expected a name (a DNS-1123 label)`,
      `${fx.at(file, 'Bad_Name')}: Pod name "Bad_Name" is not a valid name; expected a DNS-1123 label: 1-63 lower-case letters, digits and "-", starting and ending with a letter or digit`,
      `${fx.at(file, '- just')}: document is a list; expected a mapping with apiVersion, kind and metadata`,
    ]);
  });

  it('reports duplicate names per kind, and pod names a Deployment also produces', () => {
    const dir = fx.write({
      '1.yaml': svc + '---\n' + clientYaml('web-1', 'kernel://svc/nsm-1'),
      '2.yaml': svc + '---\n' + clientYaml('web-1', 'kernel://svc/nsm-1'),
      '3.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  replicas: 2\n  selector: { matchLabels: {} }\n' +
        '  template:\n    metadata: { annotations: { networkservicemesh.io: "kernel://svc/nsm-1" } }\n' +
        '    spec: { containers: [ { name: a, image: b } ] }\n',
    });
    expect(problemsOf([dir])).toEqual([
      `${fx.at(join(dir, '2.yaml'), 'svc')}: NetworkService "svc" is defined twice (first at ${fx.at(join(dir, '1.yaml'), 'svc')}); expected unique NetworkService names`,
      `${fx.at(join(dir, '2.yaml'), 'web-1')}: Pod "web-1" is defined twice (first at ${fx.at(join(dir, '1.yaml'), 'web-1')}); expected unique Pod names`,
      `${fx.at(join(dir, '3.yaml'), 'web }')}: pod "web-1" also comes from ${fx.at(join(dir, '1.yaml'), 'web-1')}; expected unique pod names`,
    ]);
  });

  it('reports paths that do not exist, directories without YAML and a bad node count', () => {
    const empty = fx.write({ 'readme.md': '# nothing' });
    expect(problemsOf([join(empty, 'missing'), empty], 0)).toEqual([
      '--nodes: is 0; expected an integer >= 1',
      `${join(empty, 'missing')}: cannot be read (ENOENT); expected a YAML file or a directory of them`,
      `${empty}: directory holds no .yaml or .yml file; expected manifests in it or below it`,
    ]);
    expect(problemsOf([])).toEqual([
      '(arguments): no path given; expected YAML files or directories of them',
    ]);
  });

  it('refuses a file given by name that is not .yaml or .yml, even beside good manifests', () => {
    const dir = fx.write({ 'README.md': '# lab\n', 'ns.yaml': svc });
    const readme = join(dir, 'README.md');
    const expected = `${readme}: is not a .yaml or .yml file; expected a YAML manifest or a directory of them`;
    expect(problemsOf([readme])).toEqual([expected]);
    expect(problemsOf([dir, readme])).toEqual([expected]);
  });

  it('refuses paths that together hold no NetworkService, Pod or Deployment', () => {
    const dir = fx.write({
      'ignored.yaml':
        'apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n---\n' +
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: b }\n',
      'empty/only-comments.yml': '# nothing yet\n---\n',
      'empty/blank.yaml': '',
    });
    const expected = 'expected NetworkService, Pod or Deployment documents';
    expect(problemsOf([join(dir, 'ignored.yaml')])).toEqual([
      `(arguments): no manifests found in ${join(dir, 'ignored.yaml')} (only kind Namespace, ConfigMap, which the lab ignores); ${expected}`,
    ]);
    expect(problemsOf([join(dir, 'empty'), join(dir, 'empty/blank.yaml')])).toEqual([
      `(arguments): no manifests found in ${join(dir, 'empty')}, ${join(dir, 'empty/blank.yaml')}; ${expected}`,
    ]);
    // A path that is wrong already says why nothing was found: no second line.
    expect(problemsOf([join(dir, 'missing.yaml')])).toEqual([
      `${join(dir, 'missing.yaml')}: cannot be read (ENOENT); expected a YAML file or a directory of them`,
    ]);
    // One NetworkService is enough to make a lab.
    expect(
      loadManifests([join(dir, 'empty'), fx.write({ 'ns.yaml': svc })], { nodes: 1 }).services,
    ).toHaveLength(1);
  });

  it('throws a ManifestError whose problems carry file, line and column', () => {
    const dir = fx.write({ 'a.yaml': 'apiVersion: v1\nkind: Widget\nmetadata: { name: w }\n' });
    const err = (() => {
      try {
        loadManifests([dir], { nodes: 2 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).problems).toEqual([
      {
        file: join(dir, 'a.yaml'),
        line: 2,
        col: 7,
        message: expect.stringContaining('unknown kind "Widget"') as unknown,
      },
    ]);
  });
});

describe('loadManifests: namespaces', () => {
  const inNamespace = (yaml: string, ns: string): string =>
    yaml.replace(/^metadata:\n/m, `metadata:\n  namespace: ${ns}\n`);

  it('keeps pods of one name in two namespaces apart, as <name>.<namespace>', () => {
    const dir = fx.write({
      'svc.yaml': svc,
      'nse.yaml': nse('e1', '10.0.0.0/24'),
      'a.yaml': inNamespace(clientYaml('app', 'kernel://svc/nsm-1'), 'team-a'),
      'b.yaml': inNamespace(clientYaml('app', 'kernel://svc/nsm-1'), 'team-b'),
      'c.yaml': inNamespace(clientYaml('app', 'kernel://svc/nsm-1'), 'default'),
    });
    const plan = loadManifests([dir], { nodes: 1 });
    expect(plan.pods.map((p) => p.name).sort()).toEqual(['app', 'app.team-a', 'app.team-b', 'e1']);
  });

  it('names an endpoint of another namespace after its qualified pod name', () => {
    const dir = fx.write({
      'svc.yaml': svc,
      'a.yaml': inNamespace(nse('gw', '10.1.0.0/24'), 'edge'),
      'b.yaml': nse('gw', '10.2.0.0/24'),
    });
    const plan = loadManifests([dir], { nodes: 1 });
    expect(plan.pods.map((p) => p.endpoint?.name).sort()).toEqual(['gw', 'gw.edge']);
  });

  it('refuses the same pod twice in one namespace, and a namespace that is no DNS label', () => {
    const dir = fx.write({
      'svc.yaml': svc,
      'nse.yaml': nse('e1', '10.0.0.0/24'),
      'a.yaml': inNamespace(clientYaml('app', 'kernel://svc/nsm-1'), 'team-a'),
      'b.yaml': inNamespace(clientYaml('app', 'kernel://svc/nsm-1'), 'team-a'),
      'c.yaml': inNamespace(clientYaml('odd', 'kernel://svc/nsm-1'), 'Team_C'),
    });
    const problems = problemsOf([dir]).join('\n');
    expect(problems).toContain('Pod "app" in namespace team-a is defined twice');
    expect(problems).toContain('namespace "Team_C" is not a valid name; expected a DNS-1123 label');
  });
});

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadManifests } from './manifests.js';
import { clientYaml, endpointYaml, Fixtures, problemsOf, serviceYaml } from './testing.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** Asserts that one problem line sits at `position` and contains every fragment. */
function expectProblem(lines: string[], position: string, ...fragments: string[]): void {
  const found = lines.filter((l) => l.startsWith(`${position}: `));
  expect(found, `no problem at ${position} in:\n${lines.join('\n')}`).not.toEqual([]);
  expect(
    found.some((l) => fragments.every((f) => l.includes(f))),
    `${found.join('\n')}`,
  ).toBe(true);
}

/** Writes one file of documents and returns its path and its problems. */
function check(docs: string[], nodes = 2): { file: string; lines: string[] } {
  const dir = fx.write({ 'm.yaml': docs.join('---\n') });
  const file = join(dir, 'm.yaml');
  return { file, lines: problemsOf([file], nodes) };
}

const svc = serviceYaml('svc');

describe('NetworkService validation', () => {
  it('reports every bad field of the spec at its position', () => {
    const spec = [
      'payload: MPLS',
      'matches:',
      '  - source_selectors: { app: a }',
      '    routes:',
      '      - destination_selector: { version: 1 }',
      '        weight: -1',
      '      - destination_selector: { "-bad": x }',
      '        weight: 1.5',
      '    fallthrough: "yes"',
      '  - source_selector: { node: "{{.nodeName" }',
      '    metadata: { labels: { tier: "has space" } }',
      '    routes: { destination_selector: {} }',
      '  - just-a-string',
    ].join('\n');
    const { file, lines } = check([serviceYaml('svc', spec)]);
    const at = (needle: string): string => fx.at(file, needle);
    expect(lines).toHaveLength(11);
    expectProblem(lines, at('MPLS'), 'spec.payload is "MPLS"; expected one of ETHERNET, IP');
    expectProblem(
      lines,
      at('source_selectors'),
      'unknown field "source_selectors" in spec.matches[0]; expected one of: source_selector, routes, fallthrough, metadata',
    );
    expectProblem(
      lines,
      at('1 }'),
      'spec.matches[0].routes[0].destination_selector.version is the number 1; expected a string (quote it: "1")',
    );
    expectProblem(
      lines,
      at('-1'),
      'spec.matches[0].routes[0].weight is the number -1; expected a non-negative integer',
    );
    expectProblem(lines, at('{ "-bad"'), 'label key "-bad" is invalid');
    expectProblem(lines, at('1.5'), 'weight is the number 1.5; expected a non-negative integer');
    expectProblem(
      lines,
      at('"yes"'),
      'spec.matches[0].fallthrough is the string "yes"; expected true or false',
    );
    expectProblem(lines, at('{ node'), 'spec.matches[1].source_selector["node"]');
    expectProblem(lines, at('{ tier'), 'invalid value "has space"', '; expected');
    expectProblem(
      lines,
      at('{ destination_selector: {} }'),
      'spec.matches[1].routes is a mapping; expected a list',
    );
    expectProblem(
      lines,
      at('just-a-string'),
      'spec.matches[2] is the string "just-a-string"; expected a mapping',
    );
  });

  it('requires a spec with a payload', () => {
    const { file, lines } = check([
      'apiVersion: networkservicemesh.io/v1\nkind: NetworkService\nmetadata: { name: a }\n',
      'apiVersion: networkservicemesh.io/v1\nkind: NetworkService\nmetadata: { name: b }\nspec: { matches: [] }\n',
    ]);
    expect(lines).toEqual([
      `${fx.at(file, 'apiVersion')}: spec is missing; expected a mapping`,
      `${fx.at(file, '{ matches')}: spec.payload is missing; expected one of ETHERNET, IP`,
    ]);
  });
});

describe('client and endpoint validation', () => {
  it('reports bad client URLs, unknown services and duplicate interface names at the annotation', () => {
    const { file, lines } = check([
      svc,
      clientYaml('a', 'vfio://svc/nsm-1'),
      clientYaml('b', 'kernel://nosuch/nsm-1'),
      clientYaml('c', 'kernel://svc/nsm-1,kernel://svc/nsm-1?x=y'),
      clientYaml('d', 'kernel://svc/this-is-too-long?app'),
    ]);
    expect(lines).toEqual([
      `${fx.at(file, 'vfio://')}: client URL "vfio://svc/nsm-1": mechanism "vfio://" is not supported, only kernel://, memif:// and tap:// are; expected kernel://<service>/<ifname>[?key=value&key2=value2] (or memif://..., tap://...)`,
      `${fx.at(file, 'kernel://nosuch')}: client requests network service "nosuch", which no NetworkService defines; expected one of: svc`,
      `${fx.at(file, 'kernel://svc/nsm-1,')}: client URL "kernel://svc/nsm-1?x=y": interface name "nsm-1" is used twice in this pod; expected a different name per request`,
      `${fx.at(file, 'kernel://svc/this')}: client URL "kernel://svc/this-is-too-long?app": interface name "this-is-too-long" is 16 characters long; expected 1-15 characters of [A-Za-z0-9_.-] starting with a letter or digit`,
      `${fx.at(file, 'kernel://svc/this')}: client URL "kernel://svc/this-is-too-long?app": bad query parameter "app"; expected key=value (percent-encoded)`,
    ]);
  });

  it('reports endpoint problems: services, labels, names, address pools', () => {
    const { file, lines } = check([
      svc,
      endpointYaml('e1', {
        NSM_SERVICE_NAMES: 'svc,other',
        NSM_LABELS: 'app:e1,bad',
        NSM_CIDR_PREFIX: '10.0.0.0/24',
      }),
      endpointYaml('e2', { NSM_SERVICE_NAMES: 'svc' }),
      endpointYaml('e3', { NSM_SERVICE_NAMES: 'svc', NSM_CIDR_PREFIX: '10.0.0.128/25,10.9.0.0/33' }),
      endpointYaml('e4', {
        NSM_SERVICE_NAMES: 'svc',
        NSM_NAME: 'e1',
        NSM_CIDR_PREFIX: '10.5.0.0/24,10.5.0.6/31',
      }),
      endpointYaml('e5', { NSM_SERVICE_NAMES: ' ', NSM_CIDR_PREFIX: '' }),
    ]);
    const at = (needle: string, nth = 0): string => fx.at(file, needle, nth);
    expect(lines).toEqual([
      `${at('"svc,other"')}: endpoint provides network service "other", which no NetworkService defines; expected one of: svc`,
      `${at('"app:e1,bad"')}: NSM_LABELS: bad label "bad"; expected key:value`,
      `${at('"svc"')}: endpoint has no NSM_CIDR_PREFIX; expected a prefix such as 10.60.1.0/24 to hand out addresses to its clients (only a passthrough, which is also a client, may go without)`,
      `${at('"10.0.0.128/25,10.9.0.0/33"')}: NSM_CIDR_PREFIX: invalid CIDR "10.9.0.0/33": prefix length must be 0..32 for IPv4`,
      `${at('"10.0.0.128/25,10.9.0.0/33"')}: NSM_CIDR_PREFIX 10.0.0.128/25 overlaps 10.0.0.0/24 of endpoint "e1" (${at('"10.0.0.0/24"')}); expected address pools that do not overlap (only replicas of one Deployment share a pool)`,
      `${at('"e1"')}: endpoint name "e1" is used also at ${at('e1\nspec')}; expected unique endpoint names (NSM_NAME, default the pod name; valueFrom.fieldRef.fieldPath: metadata.name gives each pod its own)`,
      `${at('"10.5.0.0/24,10.5.0.6/31"')}: NSM_CIDR_PREFIX 10.5.0.6/31 overlaps 10.5.0.0/24 of endpoint "e1" (${at('"10.5.0.0/24,10.5.0.6/31"')}); expected address pools that do not overlap`,
      `${at('" "')}: NSM_SERVICE_NAMES is empty; expected a comma-separated list of network services`,
      `${at('""')}: NSM_CIDR_PREFIX is empty; expected a comma-separated list of prefixes such as 10.60.1.0/24`,
    ]);
  });

  it('reports env values it cannot resolve, two endpoint containers, and pods without containers', () => {
    const envFrom = (extra: string): string =>
      'apiVersion: v1\nkind: Pod\nmetadata: { name: e }\nspec:\n  containers:\n' +
      '    - name: a\n      env:\n        - { name: NSM_SERVICE_NAMES, value: svc }\n' +
      '        - { name: NSM_CIDR_PREFIX, valueFrom: { configMapKeyRef: { name: x, key: y } } }\n' +
      extra;
    const { file, lines } = check([
      svc,
      envFrom('    - name: b\n      env: [ { name: NSM_SERVICE_NAMES, value: svc2 } ]\n'),
      'apiVersion: v1\nkind: Pod\nmetadata: { name: empty, annotations: { networkservicemesh.io: "kernel://svc/a" } }\nspec: {}\n',
    ]);
    expect(lines).toEqual([
      `${fx.at(file, '{ name: NSM_CIDR_PREFIX')}: spec.containers[0].env[1].value of NSM_CIDR_PREFIX is missing; expected a string value (or valueFrom.fieldRef.fieldPath: metadata.name, the only valueFrom the lab resolves)`,
      `${fx.at(file, 'svc2')}: a second container sets NSM_SERVICE_NAMES; expected one endpoint container per pod`,
      `${fx.at(file, '{}')}: spec.containers is missing or empty; expected at least one container`,
    ]);
  });

  it('allows a passthrough without NSM_CIDR_PREFIX', () => {
    const dir = fx.write({
      'm.yaml': [
        svc,
        clientYaml('fw', 'kernel://svc/nsm-1?app=fw').replace(
          '      image: alpine:3.20\n',
          '      image: alpine:3.20\n      env: [ { name: NSM_SERVICE_NAMES, value: svc } ]\n',
        ),
      ].join('---\n'),
    });
    const plan = loadManifests([dir], { nodes: 1 });
    expect(plan.pods[0]?.endpoint).toEqual({
      name: 'fw',
      serviceNames: ['svc'],
      labels: {},
      cidrPrefix: [],
      mechanisms: ['KERNEL'],
    });
    expect(plan.pods[0]?.client?.requests).toHaveLength(1);
  });

  it('reads NSM_MECHANISMS and refuses what no lab endpoint serves, and memif on a passthrough', () => {
    const good = fx.write({
      'm.yaml': [
        svc,
        endpointYaml('e', {
          NSM_SERVICE_NAMES: 'svc',
          NSM_CIDR_PREFIX: '10.9.0.0/24',
          NSM_MECHANISMS: 'memif,KERNEL',
        }),
      ].join('---\n'),
    });
    expect(loadManifests([good], { nodes: 1 }).pods[0]?.endpoint?.mechanisms).toEqual(['MEMIF', 'KERNEL']);
    const bad = check([
      svc,
      endpointYaml('e', { NSM_SERVICE_NAMES: 'svc', NSM_CIDR_PREFIX: '10.9.0.0/24', NSM_MECHANISMS: 'VFIO' }),
      endpointYaml('f', { NSM_SERVICE_NAMES: 'svc', NSM_CIDR_PREFIX: '10.9.1.0/24', NSM_MECHANISMS: ' ' }),
      clientYaml('fw', 'memif://svc/nsm-1').replace(
        '      image: alpine:3.20\n',
        '      image: alpine:3.20\n      env: [ { name: NSM_SERVICE_NAMES, value: svc }, { name: NSM_MECHANISMS, value: MEMIF } ]\n',
      ),
    ]);
    expect(bad.lines.join('\n')).toContain(
      'NSM_MECHANISMS: "VFIO" is not served by the lab\'s endpoints; expected KERNEL or MEMIF',
    );
    expect(bad.lines.join('\n')).toContain('NSM_MECHANISMS is empty; expected KERNEL, MEMIF or KERNEL,MEMIF');
    expect(bad.lines.join('\n')).toContain(
      'a passthrough (an endpoint that is also a client) bridges kernel interfaces; expected NSM_MECHANISMS KERNEL',
    );
    expect(bad.lines.join('\n')).toContain(
      'a passthrough (an endpoint that is also a client) continues over kernel://; expected no memif://',
    );
  });
});

describe('placement and Deployment validation', () => {
  it('reports nodes that do not exist and contradicting node choices', () => {
    const { file, lines } = check([
      svc,
      clientYaml('a', 'kernel://svc/x', 'nodeName: node-3'),
      clientYaml(
        'b',
        'kernel://svc/x',
        'nodeName: node-1\n  nodeSelector: { kubernetes.io/hostname: node-2 }',
      ),
    ]);
    expect(lines).toEqual([
      `${fx.at(file, 'node-3')}: node "node-3" does not exist; expected one of node-1, node-2 (the lab has 2 nodes: see --nodes)`,
      `${fx.at(file, 'node-2')}: nodeSelector kubernetes.io/hostname is "node-2" but spec.nodeName is "node-1"; expected the same node in both`,
    ]);
  });

  it('reports bad replicas, selectors, misplaced annotations and missing templates', () => {
    const deployment = (name: string, spec: string): string =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n${spec}`;
    const template =
      '  template:\n    metadata: { labels: { app: x }, annotations: { networkservicemesh.io: "kernel://svc/a" } }\n' +
      '    spec: { containers: [ { name: a } ] }\n';
    const { file, lines } = check([
      svc,
      deployment('neg', `spec:\n  replicas: -1\n  selector: { matchLabels: { app: x } }\n${template}`),
      deployment('frac', `spec:\n  replicas: "2"\n  selector: { matchLabels: { app: y } }\n${template}`),
      deployment('nosel', `spec:\n${template}`),
      deployment(
        'outer',
        `  annotations: { networkservicemesh.io: "kernel://svc/a" }\nspec:\n  selector: {}\n  replicas: 1\n`,
      ),
      deployment('a'.repeat(62), `spec:\n  replicas: 10\n  selector: {}\n${template}`),
    ]);
    const at = (needle: string): string => fx.at(file, needle);
    expect(lines).toEqual([
      `${at('-1')}: spec.replicas is the number -1; expected an integer >= 0 (default 1)`,
      `${at('"2"')}: spec.replicas is the string "2"; expected an integer >= 0 (default 1)`,
      `${at('y }')}: spec.selector.matchLabels app=y does not match the pod template; expected spec.template.metadata.labels to contain app: y`,
      `${fx.at(file, 'template', 2)}: spec.selector is missing; expected a mapping`,
      `${at('"kernel://svc/a" }\nspec:\n  selector: {}')}: annotation networkservicemesh.io on the Deployment itself does not reach its pods; expected it in spec.template.metadata.annotations`,
      `${at('selector: {}\n  replicas: 1')}: spec.template is missing; expected a mapping`,
      `${at('10\n')}: pod name "${'a'.repeat(62)}-10" would be 65 characters long; expected at most 63: shorten the Deployment name`,
    ]);
  });

  it('reports replicas that would share a literal NSM_NAME, once per Deployment (sharing the pool is fine)', () => {
    const { file, lines } = check([
      svc,
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: nse }\nspec:\n  replicas: 3\n' +
        '  selector: { matchLabels: {} }\n  template:\n    spec:\n      containers:\n        - name: a\n' +
        '          env:\n            - { name: NSM_SERVICE_NAMES, value: svc }\n' +
        '            - { name: NSM_NAME, value: fixed }\n' +
        '            - { name: NSM_CIDR_PREFIX, value: 10.3.0.0/24 }\n',
    ]);
    expect(lines).toEqual([
      `${fx.at(file, 'fixed')}: endpoint name "fixed" is used by every replica of this Deployment; expected unique endpoint names (NSM_NAME, default the pod name; valueFrom.fieldRef.fieldPath: metadata.name gives each pod its own)`,
    ]);
  });

  it('collects problems from every file, sorted by file then position', () => {
    const dir = fx.write({
      'b.yaml': clientYaml('b', 'kernel://svc/x', 'nodeName: node-9'),
      'a.yaml': `${svc}---\n${clientYaml('a', 'kernel://none/x')}`,
    });
    const lines = problemsOf([dir]);
    expect(lines.map((l) => l.slice(dir.length + 1, l.indexOf(':', dir.length + 8)))).toEqual([
      'a.yaml:13',
      'b.yaml:8',
    ]);
  });
});

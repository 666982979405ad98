import { afterEach, describe, expect, it } from 'vitest';
import { loadManifests } from './manifests.js';
import { Fixtures, problemsOf, serviceYaml } from './testing.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const deployment = (containers: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: nse
          image: x
          command: [ignored, because, this, is, the, role]
          env:
            - { name: NSM_SERVICE_NAMES, value: svc }
            - { name: NSM_CIDR_PREFIX, value: 10.1.0.0/24 }
${containers}`;

describe("the user's containers in the manifests", () => {
  it("takes every container with a command but the endpoint's, with args and env, each pod its own name", () => {
    const dir = fx.write({
      'm.yaml': [
        serviceYaml('svc'),
        deployment(`        - name: http
          image: node
          command: [node, server.js]
          args: [--port, "8080"]
          env:
            - { name: GREETING, value: hi }
            - name: POD
              valueFrom: { fieldRef: { fieldPath: metadata.name } }
        - name: no-command
          image: busybox
`),
      ].join('---\n'),
    });
    const plan = loadManifests([dir], { nodes: 1 });
    expect(plan.pods.map((p) => [p.name, p.containers])).toEqual(
      ['web-1', 'web-2'].map((name) => [
        name,
        [
          {
            name: 'http',
            command: ['node', 'server.js', '--port', '8080'],
            env: { GREETING: 'hi', POD: name },
          },
        ],
      ]),
    );
  });

  it('names a command that is not a list of strings, a bad container name, and args without command', () => {
    const dir = fx.write({
      'm.yaml': [
        serviceYaml('svc'),
        deployment(`        - name: a
          command: node server.js
        - name: Bad_Name
          command: [sleep, "1"]
        - name: twice
          command: [sleep, "1"]
        - name: twice
          command: [sleep, "2"]
`),
      ].join('---\n'),
    });
    const text = problemsOf([dir]).join('\n');
    expect(text).toContain(
      'containers[1].command is the string "node server.js"; expected a non-empty list of strings such as [sleep, infinity]',
    );
    expect(text).toContain('container name "Bad_Name" is not a DNS-1123 label');
    expect(text).toContain('container name "twice" is used twice in this pod');
  });

  it('warns of args without a command: there is no entrypoint to give them to', () => {
    const dir = fx.write({
      'm.yaml': [serviceYaml('svc'), deployment('        - name: c\n          args: [x]\n')].join('---\n'),
    });
    const plan = loadManifests([dir], { nodes: 1 });
    expect(plan.warnings.join('\n')).toContain('args without command: the lab runs no images');
    expect(plan.pods[0]?.containers).toBeUndefined();
  });
});

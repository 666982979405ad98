/**
 * Pods that run the user's own `command:` beside the built-in roles, as root: an endpoint pod with a
 * small HTTP server container and a client pod with a shell loop. The server answers over the mesh
 * link, with its env; a killed container is started again; a role killed outright leaves no second
 * copy of its container; a stopped pod stops its containers; `nsm down` leaves nothing behind.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { hostOf, manifestDir, statusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkProblems, nsm, testLabName } from '../harness/nsm-cli.js';

const SERVER =
  "require('http').createServer((q, s) => s.end(process.env.GREETING + ' from ' + process.env.POD)).listen(8080)";

const manifests = {
  'web.yaml': `apiVersion: networkservicemesh.io/v1
kind: NetworkService
metadata: { name: web }
spec: { payload: IP }
---
apiVersion: v1
kind: Pod
metadata: { name: web-server }
spec:
  nodeName: node-2
  containers:
    - name: nse
      image: ghcr.io/networkservicemesh/cmd-nse-icmp-responder:v1.14.0
      env:
        - { name: NSM_SERVICE_NAMES, value: web }
        - { name: NSM_CIDR_PREFIX, value: 10.81.0.0/24 }
    - name: http
      image: node:20
      command: [node, -e, ${JSON.stringify(SERVER)}]
      env:
        - { name: GREETING, value: hello }
        - name: POD
          valueFrom: { fieldRef: { fieldPath: metadata.name } }
---
apiVersion: v1
kind: Pod
metadata:
  name: web-client
  annotations: { networkservicemesh.io: kernel://web/nsm-1 }
spec:
  nodeName: node-1
  containers:
    - name: loop
      image: alpine:3.20
      command: [sh, -c]
      args: ["while true; do sleep 1; done"]
`,
};

/** The pids of the processes of container `name` of `pod` (by the mark the role gives them). */
function containerPids(lab: string, pod: string, name: string): number[] {
  const mark = `NSM_POD_CONTAINER=${lab}/${pod}/${name}`;
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/environ`, 'latin1').split('\0').includes(mark);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!isRoot)(rootTitle('test/e2e/containers'), () => {
  const lab = testLabName('ctr');
  const files = manifestDir(manifests);

  beforeAll(async () => {
    const run = await nsm(lab, 'up', files.dir, '--timeout', '60s');
    expect(run.code, run.stderr).toBe(0);
  }, 90_000);

  afterAll(async () => {
    await nsm(lab, 'down');
    files.remove();
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
    expect(containerPids(lab, 'web-server', 'http')).toEqual([]);
  }, 60_000);

  it('runs each container beside the role; the server answers over the mesh with its env', async () => {
    expect(await checkProblems(lab)).toEqual([]);
    const status = await statusJson(lab);
    const server = status.pods.find((p) => p.name === 'web-server')!;
    expect(server.containers).toEqual([
      expect.objectContaining({ name: 'http', state: 'running', restarts: 0 }),
    ]);
    expect(status.pods.find((p) => p.name === 'web-client')!.containers?.map((c) => c.name)).toEqual([
      'loop',
    ]);
    const link = status.links.find((l) => l.client === 'web-client')!;
    const url = `http://${hostOf(link.endpointIps[0])}:8080/`;
    await expect
      .poll(
        async () => (await nsm(lab, 'exec', 'web-client', '--', 'curl', '-s', '--max-time', '2', url)).stdout,
        {
          timeout: 10_000,
        },
      )
      .toBe('hello from web-server');
    const logs = await nsm(lab, 'logs', 'web-server');
    expect(logs.stdout).toMatch(/container started .*container=http/);
  }, 60_000);

  it('starts a killed container again, and a role killed outright leaves no second copy', async () => {
    const [pid] = containerPids(lab, 'web-server', 'http');
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await expect
      .poll(async () => (await statusJson(lab)).pods.find((p) => p.name === 'web-server')?.containers?.[0], {
        timeout: 10_000,
      })
      .toMatchObject({ state: 'running', restarts: 1 });
    const role = (await statusJson(lab)).pods.find((p) => p.name === 'web-server')!;
    process.kill(role.pid!, 'SIGKILL');
    await expect
      .poll(async () => (await statusJson(lab)).pods.find((p) => p.name === 'web-server'), {
        timeout: 20_000,
      })
      .toMatchObject({ state: 'running', restarts: role.restarts + 1 });
    await expect.poll(() => containerPids(lab, 'web-server', 'http').length, { timeout: 10_000 }).toBe(1);
    expect(await checkProblems(lab)).toEqual([]);
  }, 60_000);

  it('a stopped pod stops its containers', async () => {
    expect(containerPids(lab, 'web-client', 'loop').length).toBeGreaterThan(0);
    expect((await nsm(lab, 'stop', 'web-client')).code).toBe(0);
    await expect.poll(() => containerPids(lab, 'web-client', 'loop'), { timeout: 10_000 }).toEqual([]);
  }, 30_000);
});

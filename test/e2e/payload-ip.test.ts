/**
 * Kernel2IP2Kernel end to end, as root: the kernel2ethernet2kernel shape (client on node-1, endpoint on
 * node-2, VXLAN between the forwarders) with a NetworkService of payload IP, from manifests the test
 * writes itself. up → check → a TCP transfer both ways → down leaves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  counters,
  hostOf,
  interfaces,
  manifestDir,
  statusJson,
  type StatusJson,
} from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, nsm, testLabName } from '../harness/nsm-cli.js';
import { tcpEcho } from '../harness/tcp.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('test/e2e/payload-ip'), () => {
  const manifests = {
    'network-service.yaml': `apiVersion: networkservicemesh.io/v1
kind: NetworkService
metadata:
  name: kernel2ip2kernel
spec:
  payload: IP
`,
    'nse.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: nse-ip
spec:
  nodeName: node-2
  containers:
    - name: nse
      image: ghcr.io/networkservicemesh/cmd-nse-icmp-responder:v1.14.0
      env:
        - name: NSM_SERVICE_NAMES
          value: kernel2ip2kernel
        - name: NSM_CIDR_PREFIX
          value: 10.71.0.0/24
`,
    'nsc.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: nsc-ip
  annotations:
    networkservicemesh.io: kernel://kernel2ip2kernel/ip-1
spec:
  nodeSelector:
    kubernetes.io/hostname: node-1
  containers:
    - name: nsc
      image: alpine:3.20
      command: [sleep, infinity]
`,
  };

  const lab = testLabName('pay-ip');
  const files = manifestDir(manifests);
  const MB2 = 2 * 1024 * 1024;
  let status: StatusJson;
  const nsOf = (pod: string): string => status.pods.find((p) => p.name === pod)!.netns;

  beforeAll(async () => {
    const run = await nsm(lab, 'up', files.dir, '--timeout', '60s');
    expect(run.code, run.stderr).toBe(0);
    status = await statusJson(lab);
  }, 90_000);

  afterAll(async () => {
    files.remove();
    await nsm(lab, 'down');
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
  }, 60_000);

  describe('Kernel2IP2Kernel on the local lab', () => {
    it('registers the service with payload IP and holds one remote KERNEL link to nse-ip', () => {
      expect(status.services.map((s) => [s.name, s.payload])).toEqual([['kernel2ip2kernel', 'IP']]);
      expect(status.links).toHaveLength(1);
      expect(status.links[0]).toMatchObject({
        client: 'nsc-ip',
        clientNode: 'node-1',
        clientInterface: 'ip-1',
        endpoint: 'nse-ip',
        endpointNode: 'node-2',
        service: 'kernel2ip2kernel',
        mechanism: 'KERNEL',
        locality: 'remote',
        state: 'UP',
      });
      expect(hostOf(status.links[0]!.clientIps[0])).toMatch(/^10\.71\.0\.\d+$/);
      expect(hostOf(status.links[0]!.endpointIps[0])).toMatch(/^10\.71\.0\.\d+$/);
    });

    it('passes nsm check both ways with the right peer', async () => {
      const result = await checkJson(lab);
      expect(result.links.map((l) => l.problems)).toEqual([[]]);
      expect(result.links[0]).toMatchObject({
        client: 'nsc-ip',
        endpoint: 'nse-ip',
        locality: 'remote',
        forward: true,
        reverse: true,
        peer: true,
      });
      expect(result.ok).toBe(true);
    }, 30_000);

    it('carries a TCP transfer both ways over ip-1', async () => {
      const link = status.links[0]!;
      const client = { netns: nsOf('nsc-ip'), ip: hostOf(link.clientIps[0]) };
      const endpoint = { netns: nsOf('nse-ip'), ip: hostOf(link.endpointIps[0]) };
      const before = counters(client.netns, 'ip-1');
      expect(await tcpEcho(endpoint, client, MB2)).toMatchObject({ sent: MB2, received: MB2, same: true });
      expect(await tcpEcho(client, endpoint, MB2)).toMatchObject({ sent: MB2, received: MB2, same: true });
      const after = counters(client.netns, 'ip-1');
      expect(after.tx - before.tx).toBeGreaterThanOrEqual(2 * MB2);
      expect(after.rx - before.rx).toBeGreaterThanOrEqual(2 * MB2);
      expect(interfaces(client.netns)).toEqual(['ip-1']);
      expect(interfaces(endpoint.netns)).toEqual([link.endpointInterface]);
    }, 60_000);

    it('nsm down leaves no namespace, process or state', async () => {
      const run = await nsm(lab, 'down');
      expect(run.code, run.stderr).toBe(0);
      expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
    }, 60_000);
  });
});

/**
 * Three endpoints of one service on three nodes and a client on each node, as root on the local
 * lab: each client takes the endpoint on its own node; an endpoint that is stopped (its namespace
 * still answers pings) loses its client to another endpoint after a few tries; a deleted endpoint
 * (`nsm delete`) loses its client at once, and its pod, namespace and registration are gone. A pod
 * annotated with two URLs whose first cannot be served still gets its second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventory, leaks } from '../harness/inventory.js';
import { manifestDir, statusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, nsm, testLabName } from '../harness/nsm-cli.js';
import { peerOf, startPinger } from '../../bench/src/ns/pinger.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('test/e2e/spread'), () => {
  const service = `apiVersion: networkservicemesh.io/v1
kind: NetworkService
metadata: { name: spread }
spec:
  payload: ETHERNET
  matches:
    - source_selector: { app: lonely }
      routes:
        - destination_selector: { app: nobody }
    - routes:
        - destination_selector: { app: spread-nse }
`;

  const endpoint = (n: number): string => `apiVersion: v1
kind: Pod
metadata: { name: nse-${n} }
spec:
  nodeName: node-${n}
  containers:
    - name: nse
      image: nse
      env:
        - { name: NSM_SERVICE_NAMES, value: spread }
        - { name: NSM_LABELS, value: "app:spread-nse" }
        - { name: NSM_CIDR_PREFIX, value: "10.80.${n}.0/24" }
`;

  const client = (n: number, urls: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: nsc-${n}
  annotations: { networkservicemesh.io: "${urls}" }
spec:
  nodeName: node-${n}
  containers: [{ name: nsc, image: alpine }]
`;

  const lab = testLabName('spread');
  const files = manifestDir({
    'service.yaml': service,
    'endpoints.yaml': [1, 2, 3].map(endpoint).join('---\n'),
    // nsc-1's first URL matches no endpoint (app=lonely routes to app=nobody); its second must still connect.
    'clients.yaml': [
      client(1, 'kernel://spread/nsm-0?app=lonely,kernel://spread/nsm-1'),
      client(2, 'kernel://spread/nsm-1'),
      client(3, 'kernel://spread/nsm-1'),
    ].join('---\n'),
  });
  const times: Record<string, number> = {};

  const linkOf = async (pod: string) =>
    (await statusJson(lab)).links.find((l) => l.client === pod && l.clientInterface === 'nsm-1');

  beforeAll(async () => {
    // nsc-1/nsm-0 never comes up: up waits briefly and reports it, exit 1.
    const run = await nsm(lab, 'up', files.dir, '--nodes', '3', '--timeout', '8s');
    expect(run.stderr).toContain('nsc-1/nsm-0 (spread)');
    expect(run.code).toBe(1);
  }, 90_000);

  afterAll(async () => {
    console.log(`spread: ${JSON.stringify(times)}`);
    await nsm(lab, 'down');
    files.remove();
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
  }, 60_000);

  describe('three endpoints on three nodes, a client on each', () => {
    it('each client takes the endpoint on its own node; the unservable URL waits with its reason', async () => {
      const status = await statusJson(lab);
      const peers = Object.fromEntries(
        status.links.map((l) => [`${l.client}/${l.clientInterface}`, l.endpoint]),
      );
      expect(peers).toEqual({ 'nsc-1/nsm-1': 'nse-1', 'nsc-2/nsm-1': 'nse-2', 'nsc-3/nsm-1': 'nse-3' });
      expect(status.links.map((l) => l.locality)).toEqual(['local', 'local', 'local']);
      const nsc1 = status.pods.find((p) => p.name === 'nsc-1')!;
      expect(nsc1.state).toBe('pending');
      expect(nsc1.pending).toEqual([
        expect.objectContaining({
          ifname: 'nsm-0',
          reason: expect.stringContaining('app=lonely') as unknown,
        }),
      ]);
      const check = await checkJson(lab);
      expect(check.links.filter((l) => l.ok).map((l) => `${l.client}/${l.clientInterface}`)).toEqual([
        'nsc-1/nsm-1',
        'nsc-2/nsm-1',
        'nsc-3/nsm-1',
      ]);
    }, 30_000);

    it('a stopped endpoint (its namespace still answers) loses its client to another endpoint', async () => {
      expect((await nsm(lab, 'stop', 'nse-2')).code).toBe(0);
      const started = Date.now();
      await expect
        .poll(async () => (await linkOf('nsc-2'))?.endpoint, { timeout: 20_000, interval: 200 })
        .toMatch(/^nse-[13]$/);
      times['stopped endpoint → client on another endpoint (ms)'] = Date.now() - started;
      await expect.poll(async () => (await linkOf('nsc-2'))?.state, { timeout: 10_000 }).toBe('UP');
      expect(leaks(inventory(await statusJson(lab)))).toEqual([]);
      expect((await nsm(lab, 'start', 'nse-2')).code).toBe(0);
    }, 60_000);

    it('a deleted endpoint loses its client at once; pod, namespace and registration are gone', async () => {
      const before = await statusJson(lab);
      const link = (await linkOf('nsc-3'))!;
      expect(link.endpoint).toBe('nse-3');
      const nsPath = before.pods.find((p) => p.name === 'nsc-3')!.netns;
      const pinger = startPinger(nsPath, peerOf(lab, 'nsc-3', 'nsm-1'));
      pinger.mark();
      const run = await nsm(lab, 'delete', 'pod', 'nse-3');
      expect(run.code, run.stderr).toBe(0);
      await pinger.recovered(20_000);
      const report = await pinger.stop();
      times['deleted endpoint → traffic through another (ms)'] = Math.round(report.recoveredAfterMarkMs ?? 0);
      await expect
        .poll(async () => (await linkOf('nsc-3'))?.endpoint, { timeout: 20_000, interval: 250 })
        .toMatch(/^nse-[12]$/);
      const after = await statusJson(lab);
      expect(after.pods.map((p) => p.name)).not.toContain('nse-3');
      expect(after.endpoints.map((e) => e.name)).not.toContain('nse-3');
      expect(leftovers(lab).namespaces).not.toContain(`nsm-${lab}-nse-3`);
      const inv = inventory(after);
      expect(leaks(inv)).toEqual([]);
      expect(inv['nsc-3']?.map((i) => i.name)).toEqual(['nsm-1']);
      // The addresses of the deleted endpoint left with it: one pair, from the new endpoint's pool.
      const moved = (await linkOf('nsc-3'))!;
      expect(inv['nsc-3']?.[0]?.addresses).toEqual(moved.clientIps);
      expect(moved.clientIps).toHaveLength(1);
      expect(moved.clientIps[0]).toMatch(/^10\.80\.[12]\./);
      // Every remaining interface belongs to a link a client holds: 3 links, 2 endpoints.
      const endpointInterfaces = (inv['nse-1']?.length ?? 0) + (inv['nse-2']?.length ?? 0);
      expect(endpointInterfaces).toBe(3);
      const deleteAgain = await nsm(lab, 'delete', 'nse-3');
      expect(deleteAgain.code).toBe(1);
      expect(deleteAgain.stderr).toContain('no pod "nse-3"');
    }, 60_000);
  });
});

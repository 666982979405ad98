/**
 * DPDK in a lab pod, as root: a client pod asks for memif://memif2kernel/nsm-1 and leaves its memif
 * to a program it runs (annotation nsm-ts.io/memif: external). dpdk-testpmd (net_memif, role client,
 * icmpecho) is attached to the socket `nsm status --json` names, inside the pod's namespace; the
 * kernel endpoint's pings to the pod's address cross the mesh (the forwarder's packet loop, a veth)
 * and testpmd answers them, counting the frames. `nsm check` passes and says what it did not try.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { pingFrom, TESTPMD, Testpmd } from '@nsm-ts/forwarder/testing';
import { hostOf, manifestDir, statusJson, type StatusLink } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, nsm, testLabName } from '../harness/nsm-cli.js';

const example = 'deploy/examples/memif2kernel';

describe.skipIf(!isRoot || !TESTPMD)(rootTitle('test/e2e/memif-testpmd'), () => {
  const lab = testLabName('ex-dpdk');
  const read = (name: string) => readFileSync(join(example, name), 'utf8');
  const manifests = manifestDir({
    'network-service.yaml': read('network-service.yaml'),
    'nse.yaml': read('nse-memif2kernel.yaml'),
    'nsc.yaml': read('nsc-memif2kernel.yaml').replace(
      '    networkservicemesh.io: memif://memif2kernel/nsm-1\n',
      '    networkservicemesh.io: memif://memif2kernel/nsm-1\n    nsm-ts.io/memif: external\n',
    ),
  });
  let testpmd: Testpmd | undefined;
  let link: StatusLink;

  beforeAll(async () => {
    const run = await nsm(lab, 'up', manifests.dir, '--timeout', '60s');
    expect(run.code, run.stderr).toBe(0);
    link = (await statusJson(lab)).links[0]!;
  }, 90_000);

  afterAll(async () => {
    await testpmd?.stop();
    await nsm(lab, 'down');
    manifests.remove();
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
  }, 60_000);

  it('nsm status names the memif left to the pod: its socket and namespace, nothing attached yet', () => {
    expect(link).toMatchObject({ client: 'nsc-memif2kernel', mechanism: 'MEMIF', state: 'UP' });
    expect(link.clientMemif).toMatchObject({ role: 'client', external: true, up: false });
    expect(link.clientMemif!.socket).toMatch(/^@\/tmp\/memif\/.+\/memif\.socket$/);
  });

  it('testpmd attached to that socket answers the kernel endpoint across the mesh, and counts it', async () => {
    const memif = link.clientMemif!;
    testpmd = new Testpmd({
      role: 'client',
      socket: memif.socket,
      forwardMode: 'icmpecho',
      prefix: `nsm-${lab}`,
      netns: memif.netns,
    });
    await expect.poll(() => testpmd!.started, { timeout: 20_000 }).toBe(true);
    const status = await statusJson(lab);
    const endpointNs = status.pods.find((p) => p.name === link.endpoint)!.netns.replace('/run/netns/', '');
    const ping = await pingFrom(endpointNs, hostOf(link.clientIps[0]), 5);
    expect(ping.received, ping.out).toBe(5);
    const result = await checkJson(lab);
    // Proven: the endpoint's side; not tried (and not called proven): the attached program's side.
    expect(result.links[0]).toMatchObject({ ok: true, reverse: true, forward: false, peer: false });
    expect(result.links[0]!.notes.join('\n')).toContain('left to the program attached to it');
    const counts = await testpmd.stop();
    testpmd = undefined;
    // Echo requests in and their answers out: at least the 5 pings and nsm check's one (and ARP).
    expect(counts.rxPackets).toBeGreaterThanOrEqual(6);
    expect(counts.txPackets).toBeGreaterThanOrEqual(6);
  }, 60_000);
});

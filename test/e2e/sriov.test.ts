/**
 * SR-IOV in the lab, as root, on emulated NICs (the lab emulates the PFs of the ConfigMap
 * sriov-config on every node: a sysfs tree whose driver binds an emulated kernel honours, and
 * macvlans on a veth "PF" standing in for the VFs, every PF cabled to the bridge phys0):
 * deploy/examples/sriov-kernel2kernel gives the client and the endpoint a VF each on node-1, and
 * deploy/examples/sriov2kernel gives a client on node-1 and a plain kernel endpoint on node-2 a VF
 * each; `nsm check` passes through the "NIC" and across the physical network; a stopped client
 * gives its VFs back to their nodes under their names and a restarted one takes them again; a
 * forwarder killed with SIGKILL gives back what its previous run left and the links heal; after
 * `nsm down` nothing is left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { ipJson, statusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkProblems, nsm, testLabName } from '../harness/nsm-cli.js';

describe.skipIf(!isRoot)(rootTitle('test/e2e/sriov'), () => {
  const lab = testLabName('ex-sriov');
  const nodeNs = (node = 'node-1') => `/run/netns/nsm-${lab}-${node}`;
  /** The stand-in VFs in a node under their original names. */
  const vfsInNode = (node = 'node-1') =>
    ipJson(nodeNs(node), 'link')
      .map((l) => l.ifname)
      .filter((n) => /^ens1f0v\d$/.test(n))
      .sort();
  const ALL = ['ens1f0v0', 'ens1f0v1', 'ens1f0v2', 'ens1f0v3'];

  beforeAll(async () => {
    const run = await nsm(
      lab,
      'up',
      'deploy/examples/sriov-kernel2kernel',
      'deploy/examples/sriov2kernel',
      '--timeout',
      '60s',
    );
    expect(run.code, run.stderr).toBe(0);
  }, 90_000);

  afterAll(async () => {
    const down = await nsm(lab, 'down');
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
    // Each node's emulated NICs report, as they stop, that every VF was back under its name.
    for (const node of ['node-1', 'node-2'])
      expect(down.stderr).toContain(`SR-IOV ${node}: all 4 VFs back in the node under their original names`);
  }, 60_000);

  it('gives each client and endpoint a VF, on one node or across nodes, and nsm check passes', async () => {
    expect(await checkProblems(lab)).toEqual([]);
    const status = await statusJson(lab);
    for (const pod of ['nsc-sriov', 'nsc-sriov-remote']) {
      const netns = status.pods.find((p) => p.name === pod)!.netns;
      const iface = ipJson(netns, 'link').find((l) => l.ifname === 'nsm-1');
      expect(iface?.linkinfo?.info_kind).toBe('macvlan');
    }
    const remote = status.pods.find((p) => p.name.startsWith('nse-sriov2kernel'))!.netns;
    expect(ipJson(remote, 'link').map((l) => l.linkinfo?.info_kind)).toContain('macvlan');
    // node-1: 3 of its 4 VFs in pods (two clients, the local endpoint); node-2: 1 (the remote endpoint).
    expect(vfsInNode()).toHaveLength(1);
    expect(vfsInNode('node-2')).toHaveLength(3);
    expect(status.components.map((c) => c.name)).toEqual(
      expect.arrayContaining(['sriov-node-1', 'sriov-node-2']),
    );
  }, 30_000);

  it('a stopped client gives its VFs back to their nodes by name; started again, it takes them again', async () => {
    for (const pod of ['nsc-sriov', 'nsc-sriov-remote']) expect((await nsm(lab, 'stop', pod)).code).toBe(0);
    await expect.poll(() => [vfsInNode(), vfsInNode('node-2')], { timeout: 10_000 }).toEqual([ALL, ALL]);
    for (const pod of ['nsc-sriov', 'nsc-sriov-remote']) expect((await nsm(lab, 'start', pod)).code).toBe(0);
    await expect.poll(() => checkProblems(lab), { timeout: 30_000, interval: 500 }).toEqual([]);
    expect([vfsInNode(), vfsInNode('node-2')].map((v) => v.length)).toEqual([1, 3]);
  }, 60_000);

  it.each(['node-2', 'node-1'])(
    'the forwarder of %s killed with SIGKILL gives back the VFs it left in pods, and the links heal on new ones',
    async (node) => {
      const before = await statusJson(lab);
      const forwarder = before.components.find((c) => c.name === `forwarder-${node}`)!;
      process.kill(forwarder.pid!, 'SIGKILL');
      await expect
        .poll(async () => (await statusJson(lab)).components.find((c) => c.name === `forwarder-${node}`), {
          timeout: 15_000,
        })
        .toMatchObject({ state: 'running', restarts: forwarder.restarts + 1 });
      await expect.poll(() => checkProblems(lab), { timeout: 40_000, interval: 500 }).toEqual([]);
      expect([vfsInNode(), vfsInNode('node-2')].map((v) => v.length)).toEqual([1, 3]);
    },
    90_000,
  );
});

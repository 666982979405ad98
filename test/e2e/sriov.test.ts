/**
 * SR-IOV in the lab, as root, on emulated NICs (the lab emulates the PFs of the ConfigMap
 * sriov-config on every node: a sysfs tree whose driver binds an emulated kernel honours, and
 * macvlans on a veth "PF" standing in for the VFs): deploy/examples/sriov-kernel2kernel gives the
 * client and the endpoint a VF each, `nsm check` passes through the "NIC"; a stopped client gives
 * both VFs back to the node under their names and a restarted one takes them again; a forwarder
 * killed with SIGKILL gives back what its previous run left and the link heals; nothing is left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { ipJson, statusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkProblems, nsm, testLabName } from '../harness/nsm-cli.js';

describe.skipIf(!isRoot)(rootTitle('test/e2e/sriov'), () => {
  const lab = testLabName('ex-sriov');
  const nodeNs = () => `/run/netns/nsm-${lab}-node-1`;
  /** The stand-in VFs in node-1 under their original names. */
  const vfsInNode = () =>
    ipJson(nodeNs(), 'link')
      .map((l) => l.ifname)
      .filter((n) => /^ens1f0v\d$/.test(n))
      .sort();
  const ALL = ['ens1f0v0', 'ens1f0v1', 'ens1f0v2', 'ens1f0v3'];

  beforeAll(async () => {
    const run = await nsm(lab, 'up', 'deploy/examples/sriov-kernel2kernel', '--timeout', '60s');
    expect(run.code, run.stderr).toBe(0);
  }, 90_000);

  afterAll(async () => {
    await nsm(lab, 'down');
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
  }, 60_000);

  it('gives the client and the endpoint a VF each, and nsm check passes through the NIC', async () => {
    expect(await checkProblems(lab)).toEqual([]);
    const status = await statusJson(lab);
    const client = status.pods.find((p) => p.name === 'nsc-sriov')!.netns;
    const iface = ipJson(client, 'link').find((l) => l.ifname === 'nsm-1');
    expect(iface?.linkinfo?.info_kind).toBe('macvlan');
    expect(vfsInNode()).toHaveLength(2);
    expect(status.components.map((c) => c.name)).toContain('sriov-node-1');
  }, 30_000);

  it('a stopped client gives both VFs back to the node by name; started again, it takes them again', async () => {
    expect((await nsm(lab, 'stop', 'nsc-sriov')).code).toBe(0);
    await expect.poll(vfsInNode, { timeout: 10_000 }).toEqual(ALL);
    expect((await nsm(lab, 'start', 'nsc-sriov')).code).toBe(0);
    await expect.poll(() => checkProblems(lab), { timeout: 30_000, interval: 500 }).toEqual([]);
    expect(vfsInNode()).toHaveLength(2);
  }, 60_000);

  it('a forwarder killed with SIGKILL gives back the VFs it left in pods, and the link heals on new ones', async () => {
    const before = await statusJson(lab);
    const forwarder = before.components.find((c) => c.name === 'forwarder-node-1')!;
    process.kill(forwarder.pid!, 'SIGKILL');
    await expect
      .poll(async () => (await statusJson(lab)).components.find((c) => c.name === 'forwarder-node-1'), {
        timeout: 15_000,
      })
      .toMatchObject({ state: 'running', restarts: forwarder.restarts + 1 });
    await expect.poll(() => checkProblems(lab), { timeout: 40_000, interval: 500 }).toEqual([]);
    expect(vfsInNode()).toHaveLength(2);
  }, 90_000);
});

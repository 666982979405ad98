/**
 * Healing on the local lab, as root, with kernel2ethernet2kernel (client on node-1, endpoint on node-2,
 * VXLAN between them): restarting node-1's forwarder or node-2's manager brings the link back to a
 * passing `nsm check` with exactly one interface per connection (a restarted forwarder adopts or
 * replaces what it built, never duplicates it); a stopped registry does not disturb the existing link,
 * and when it returns the lab is whole again. Each heal time is measured and printed.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostOf, interfaces, statusJson, type StatusJson, type StatusLink } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, nsm, testLabName } from '../harness/nsm-cli.js';
import { tcpEcho } from '../harness/tcp.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('test/e2e/heal'), () => {
  const lab = testLabName('heal');
  const CLIENT = 'nsc-kernel-remote';
  const ENDPOINT = 'nse-kernel-remote';
  const SERVICE = 'kernel2ethernet2kernel';
  const healMs: Record<string, number> = {};
  let status: StatusJson;
  const nsOf = (thing: string): string =>
    [...status.pods, ...status.nodes].find((p) => p.name === thing)!.netns;

  /** The failing links' problems, or [] when the check passes; a check that cannot run counts as failing. */
  async function problems(): Promise<string[]> {
    try {
      const result = await checkJson(lab);
      if (result.links.length !== 1) return [`expected one link, got ${result.links.length}`];
      return result.ok ? [] : result.links.flatMap((l) => l.problems);
    } catch (err) {
      return [String(err)];
    }
  }

  /** Exactly one mesh interface in each pod, the requested one at the client; nodes hold no stray links. */
  function expectOneInterfacePerConnection(): void {
    expect(interfaces(nsOf(CLIENT))).toEqual(['nsm-1']);
    expect(interfaces(nsOf(ENDPOINT))).toHaveLength(1);
    expect(interfaces(nsOf('node-1'))).toEqual(['eth0']);
    expect(interfaces(nsOf('node-2'))).toEqual(['eth0']);
  }

  /** A 1 MB TCP echo over the link (addresses from `link`, so it needs no running control plane). */
  async function expectTraffic(link: StatusLink): Promise<void> {
    const result = await tcpEcho(
      { netns: nsOf(ENDPOINT), ip: hostOf(link.endpointIps[0]) },
      { netns: nsOf(CLIENT), ip: hostOf(link.clientIps[0]) },
      1 << 20,
    );
    expect(result).toMatchObject({ received: 1 << 20, same: true });
  }

  async function restart(component: string): Promise<void> {
    const stop = await nsm(lab, 'stop', component);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stderr).toContain(`${component} stopped`);
    const start = await nsm(lab, 'start', component);
    expect(start.code, start.stderr).toBe(0);
    const started = Date.now();
    await expect.poll(problems, { timeout: 20_000, interval: 200 }).toEqual([]);
    healMs[component] = Date.now() - started;
  }

  beforeAll(async () => {
    const run = await nsm(lab, 'up', 'deploy/examples/kernel2ethernet2kernel', '--timeout', '60s');
    expect(run.code, run.stderr).toBe(0);
    status = await statusJson(lab);
    expect(await problems()).toEqual([]);
    expectOneInterfacePerConnection();
  }, 90_000);

  afterAll(async () => {
    console.log(`heal times (nsm start → first passing nsm check): ${JSON.stringify(healMs)}`);
    await nsm(lab, 'down');
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
  }, 60_000);

  describe('healing kernel2ethernet2kernel on the local lab', () => {
    it('a restarted forwarder-node-1 heals the link with one interface per connection', async () => {
      await restart('forwarder-node-1');
      expectOneInterfacePerConnection();
      await expectTraffic((await statusJson(lab)).links[0]!);
      // Still one interface after the replayed request settled.
      expect(await problems()).toEqual([]);
      expectOneInterfacePerConnection();
    }, 60_000);

    it('a data plane broken behind the mesh (client interface deleted) is noticed by pings and rebuilt', async () => {
      execFileSync('ip', ['-n', nsOf(CLIENT).replace('/run/netns/', ''), 'link', 'del', 'nsm-1']);
      const started = Date.now();
      await expect.poll(problems, { timeout: 20_000, interval: 200 }).toEqual([]);
      healMs['data plane'] = Date.now() - started;
      expectOneInterfacePerConnection();
      await expectTraffic((await statusJson(lab)).links[0]!);
    }, 60_000);

    it('a restarted nsmgr-node-2 heals the link with one interface per connection', async () => {
      await restart('nsmgr-node-2');
      expectOneInterfacePerConnection();
      await expectTraffic((await statusJson(lab)).links[0]!);
      expect(await problems()).toEqual([]);
      expectOneInterfacePerConnection();
    }, 60_000);

    it('while the registry is stopped the existing link keeps passing nsm check and traffic', async () => {
      const link = (await statusJson(lab)).links[0]!;
      const stop = await nsm(lab, 'stop', 'registry');
      expect(stop.code, stop.stderr).toBe(0);
      try {
        for (let i = 0; i < 3; i++) {
          await expectTraffic(link);
          expect(await problems()).toEqual([]);
        }
        expectOneInterfacePerConnection();
      } finally {
        const start = await nsm(lab, 'start', 'registry');
        expect(start.code, start.stderr).toBe(0);
      }
    }, 60_000);

    it('after the registry returns, endpoints and network services are registered again and new clients connect', async () => {
      const started = Date.now();
      await expect.poll(problems, { timeout: 20_000, interval: 200 }).toEqual([]);
      healMs['registry'] = Date.now() - started;
      await expect
        .poll(async () => (await statusJson(lab)).endpoints.map((e) => e.name).sort(), {
          timeout: 20_000,
          interval: 500,
        })
        .toEqual(['forwarder-node-1', 'forwarder-node-2', ENDPOINT]);
      // The NetworkService of the manifests must survive a registry restart: new requests discover it.
      expect((await statusJson(lab)).services.map((s) => s.name)).toEqual([SERVICE]);
      expect((await nsm(lab, 'stop', CLIENT)).code).toBe(0);
      expect((await nsm(lab, 'start', CLIENT)).code).toBe(0);
      await expect.poll(problems, { timeout: 20_000, interval: 500 }).toEqual([]);
      expectOneInterfacePerConnection();
    }, 90_000);
  });
});

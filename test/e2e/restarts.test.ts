/**
 * Pods die and come back, as root on the local lab, with the examples users start from: every
 * scenario ends healed with exactly the interfaces and addresses each pod started with (no
 * duplicates, nothing down), and `nsm status` never calls a link UP that its client does not hold.
 * A pinger (one echo every 10 ms) measures each outage; the figures are printed (bench/ records them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counts, inventory, leaks, type Inventory } from '../harness/inventory.js';
import { statusJson, type StatusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, checkProblems, nsm, testLabName } from '../harness/nsm-cli.js';
import { peerOf, startPinger } from '../../bench/src/ns/pinger.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('test/e2e/restarts'), () => {
  const nothingLeft = { namespaces: [], processes: [], stateDir: false };
  const outages: Record<string, number> = {};

  /** A lab of `dir` for one describe block: up before, down (and nothing left) after. */
  function labOf(dir: string, prefix: string) {
    const lab = testLabName(prefix);
    const ctx = { lab, status: undefined as unknown as StatusJson, before: {} as Inventory };
    beforeAll(async () => {
      const run = await nsm(lab, 'up', dir, '--timeout', '60s');
      expect(run.code, run.stderr).toBe(0);
      ctx.status = await statusJson(lab);
      ctx.before = inventory(ctx.status);
      expect(leaks(ctx.before)).toEqual([]);
    }, 90_000);
    afterAll(async () => {
      await nsm(lab, 'down');
      expect(leftovers(lab)).toEqual(nothingLeft);
    }, 60_000);
    return ctx;
  }

  async function expectHealed(lab: string, before: Inventory): Promise<void> {
    // A restarted passthrough heals in ~8 s alone but took up to 29 s under the full suite's load
    // (noted on the issue as work to do); the bound is for correctness, the benchmark for speed.
    await expect.poll(() => checkProblems(lab), { timeout: 50_000, interval: 300 }).toEqual([]);
    const after = inventory(await statusJson(lab));
    expect(leaks(after)).toEqual([]);
    expect(counts(after)).toEqual(counts(before));
  }

  function pidOf(status: StatusJson, pod: string): number {
    const pid = status.pods.find((p) => p.name === pod)?.pid;
    if (pid === undefined) throw new Error(`${pod} has no pid: ${JSON.stringify(status.pods)}`);
    return pid;
  }

  /** A pinger from the client of the only link to its peer, following the peer's address. */
  function pingFirstLink(ctx: { lab: string; status: StatusJson }, client: string) {
    const link = ctx.status.links.find((l) => l.client === client)!;
    const nsPath = ctx.status.pods.find((p) => p.name === client)!.netns;
    const pinger = startPinger(nsPath, peerOf(ctx.lab, client, link.clientInterface));
    return {
      pinger,
      async stop(name: string) {
        const report = await pinger.stop();
        outages[name] = Math.round(report.outageMs);
        return report;
      },
    };
  }

  afterAll(() => {
    console.log(`outages with a 10 ms pinger (ms): ${JSON.stringify(outages)}`);
  });

  describe('secure-intranet: the firewall (a passthrough) is stopped and started', () => {
    const ctx = labOf('deploy/examples/secure-intranet', 'rs-fw');

    it('heals the whole chain with the interface counts it started with', async () => {
      const ping = pingFirstLink(ctx, 'intranet-client');
      expect((await nsm(ctx.lab, 'stop', 'firewall')).code).toBe(0);
      // Stopped on purpose: not restarted, and no link is reported UP through it meanwhile.
      const stopped = await statusJson(ctx.lab);
      expect(stopped.pods.find((p) => p.name === 'firewall')?.state).toBe('stopped');
      expect(stopped.links.filter((l) => l.state === 'UP' && l.chain.includes('firewall'))).toEqual([]);
      expect((await nsm(ctx.lab, 'start', 'firewall')).code).toBe(0);
      await expectHealed(ctx.lab, ctx.before);
      await ping.stop('firewall stop/start');
    }, 80_000);
  });

  describe('kernel2ethernet2kernel: the endpoint is killed (kill -9) twice', () => {
    const ctx = labOf('deploy/examples/kernel2ethernet2kernel', 'rs-nse');

    it('is restarted by the supervisor each time and ends with one interface and one address per pod', async () => {
      const ping = pingFirstLink(ctx, 'nsc-kernel-remote');
      for (let round = 1; round <= 2; round++) {
        const status = await statusJson(ctx.lab);
        process.kill(pidOf(status, 'nse-kernel-remote'), 'SIGKILL');
        await expect
          .poll(
            async () =>
              (await statusJson(ctx.lab)).pods.find((p) => p.name === 'nse-kernel-remote')?.restarts,
            {
              timeout: 10_000,
            },
          )
          .toBe(round);
        await expectHealed(ctx.lab, ctx.before);
      }
      await ping.stop('endpoint kill -9 (twice)');
    }, 90_000);
  });

  describe('kernel2kernel: the client is killed (kill -9)', () => {
    const ctx = labOf('deploy/examples/kernel2kernel', 'rs-nsc');

    it('never reports a link the dead client does not hold, and the restarted client takes its connection over again', async () => {
      const status = await statusJson(ctx.lab);
      const old = status.links[0]!.id;
      process.kill(pidOf(status, 'nsc-kernel'), 'SIGKILL');
      // Stop it before the supervisor's restart settles: the manager still remembers the old
      // connection, but no client holds it.
      expect((await nsm(ctx.lab, 'stop', 'nsc-kernel')).code).toBe(0);
      const dead = await statusJson(ctx.lab);
      expect(dead.links).toEqual([]);
      expect(dead.pods.find((p) => p.name === 'nsc-kernel')?.state).toBe('stopped');
      const check = await checkJson(ctx.lab);
      expect(check.ok).toBe(false);
      expect(check.links[0]?.problems.join()).toContain('holds no such connection (the pod is stopped)');

      expect((await nsm(ctx.lab, 'start', 'nsc-kernel')).code).toBe(0);
      await expectHealed(ctx.lab, ctx.before);
      const healed = await statusJson(ctx.lab);
      expect(healed.links).toHaveLength(1);
      // The restarted process reads what it held from its status file and refreshes that connection
      // (as the sidecar does after the init container), so the pod keeps its interface.
      expect(healed.links[0]!.id).toBe(old);
      expect(healed.links[0]).toMatchObject({ clientInterface: 'nsm-1', state: 'UP' });
    }, 60_000);

    it('a killed manager is restarted by the supervisor, counted, and its link heals', async () => {
      const before = await statusJson(ctx.lab);
      const manager = before.components.find((c) => c.name === 'nsmgr-node-1')!;
      process.kill(manager.pid!, 'SIGKILL');
      await expect
        .poll(async () => (await statusJson(ctx.lab)).components.find((c) => c.name === 'nsmgr-node-1'), {
          timeout: 10_000,
        })
        .toMatchObject({ state: 'running', restarts: manager.restarts + 1 });
      await expectHealed(ctx.lab, ctx.before);
    }, 60_000);
  });
});

import { afterEach, describe, expect, it } from 'vitest';

import { newConnection } from '@nsm-ts/sdk/api';
import type { Connection } from '@nsm-ts/sdk/api';
import { FakeClock } from '@nsm-ts/sdk/core';
import { createContext } from '@nsm-ts/sdk/core';
import { NamespaceFixture, ipIn, randomSuffix } from '../kernel/testing/netns-fixture.js';
import { createKernelDeps } from '../mechanisms/deps.js';
import { clientRequest, endpointDouble, forwarderChain, localOffer } from '../mechanisms/testing/harness.js';
import { createLivenessCheck, createLivenessMonitor, livenessTarget } from './liveness.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/liveness/liveness'), () => {
  describe('liveness over a built wire', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    it('passes while the wire carries traffic and fails once the peer end is gone', async () => {
      const ctx = createContext();
      const nsc = fx.add('c');
      const nse = fx.add('e');
      const deps = await createKernelDeps({
        name: `fwd-${randomSuffix()}`,
        tunnelIp: '',
        vxlanPort: 4789,
        adopt: false,
      });
      fx.defer(() => deps.close());
      const fwd = forwarderChain(deps, localOffer, endpointDouble({ nsPath: nse.path, name: 'nse0' }));
      const conn = await fwd.request(ctx, clientRequest('l-1', nsc.path, { name: 'nsc0' }));
      expect(livenessTarget(conn)).toEqual({ nsPath: nsc.path, addr: '172.16.9.1' });

      const check = createLivenessCheck();
      expect(await check(ctx, conn)).toBe(true);
      ipIn(nse.name, 'addr', 'flush', 'dev', 'nse0'); // the endpoint stops answering
      expect(await check(ctx, conn)).toBe(false);
      ipIn(nse.name, 'link', 'del', 'nse0'); // and the wire goes
      expect(await check(ctx, conn)).toBe(false);
      await fwd.close(ctx, conn);
    });

    it('says false, not throw, for a connection without an address to check', async () => {
      expect(await createLivenessCheck()(createContext(), newConnection({ id: 'x' }))).toBe(false);
    });
  });

  describe('createLivenessMonitor', () => {
    function probe(results: boolean[]) {
      const calls: number[] = [];
      return {
        calls,
        check: (_ctx: unknown, _conn: Connection) => {
          calls.push(calls.length);
          return Promise.resolve(results.shift() ?? false);
        },
      };
    }

    it('reports a failure after N consecutive misses, once, and stops probing', async () => {
      const clock = new FakeClock();
      const ctx = createContext({ clock });
      const p = probe([true, false, false, true, false, false, false]);
      const failures: number[] = [];
      createLivenessMonitor({ everyMs: 200, misses: 3, check: p.check }).watch(
        ctx,
        newConnection({ id: 'm' }),
        (_c, n) => failures.push(n),
      );
      await clock.advance(200 * 6);
      expect(failures).toEqual([]); // a success in between resets the count
      await clock.advance(200);
      expect(failures).toEqual([3]);
      await clock.advance(2000);
      expect(p.calls).toHaveLength(7);
      expect(clock.pending).toBe(0);
    });

    it('does not count misses before the first answer until the grace period ends', async () => {
      const clock = new FakeClock();
      const failures: number[] = [];
      // Never answers: misses count from 1 s on, so the third one is at 1.4 s.
      const never = probe([]);
      createLivenessMonitor({ everyMs: 200, misses: 3, graceMs: 1000, check: never.check }).watch(
        createContext({ clock }),
        newConnection({ id: 'g' }),
        (_c, n) => failures.push(n),
      );
      await clock.advance(1200);
      expect(failures).toEqual([]);
      await clock.advance(400);
      expect(failures).toEqual([3]);
      // Answers late (a bridge joined after 0.8 s), then fails: counted at once after the first answer.
      const late = probe([false, false, false, true, false, false, false]);
      const lateFailures: number[] = [];
      createLivenessMonitor({ everyMs: 200, misses: 3, graceMs: 5000, check: late.check }).watch(
        createContext({ clock }),
        newConnection({ id: 'h' }),
        (_c, n) => lateFailures.push(n),
      );
      await clock.advance(200 * 7);
      expect(lateFailures).toEqual([3]);
      expect(clock.pending).toBe(0);
    });

    it('stops when asked', async () => {
      const clock = new FakeClock();
      const p = probe([]);
      const failures: number[] = [];
      const stop = createLivenessMonitor({ check: p.check }).watch(
        createContext({ clock }),
        newConnection({ id: 'm' }),
        () => failures.push(1),
      );
      await clock.advance(400);
      stop();
      await clock.advance(2000);
      expect(p.calls).toHaveLength(2);
      expect(failures).toEqual([]);
      expect(clock.pending).toBe(0);
    });
  });
});

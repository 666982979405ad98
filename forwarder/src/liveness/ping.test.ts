import { readdirSync, readlinkSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { Code } from '@nsm-ts/sdk/core';
import { NamespaceFixture, ipIn, randomSuffix } from '../kernel/testing/netns-fixture.js';
import { pingInNamespace } from './ping.js';
import { rejectionOf } from '@nsm-ts/sdk/testing';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/liveness/ping'), () => {
  describe('pingInNamespace', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    function pair() {
      const a = fx.add('pa');
      const b = fx.add('pb');
      const sfx = randomSuffix();
      ipIn(a.name, 'link', 'add', `v${sfx}`, 'type', 'veth', 'peer', 'name', 'p0', 'netns', b.name);
      ipIn(a.name, 'addr', 'add', '10.77.0.1/24', 'dev', `v${sfx}`);
      ipIn(a.name, 'addr', 'add', 'fd77::1/64', 'dev', `v${sfx}`, 'nodad');
      ipIn(a.name, 'link', 'set', `v${sfx}`, 'up');
      ipIn(b.name, 'addr', 'add', '10.77.0.2/24', 'dev', 'p0');
      ipIn(b.name, 'addr', 'add', 'fd77::2/64', 'dev', 'p0', 'nodad');
      ipIn(b.name, 'link', 'set', 'p0', 'up');
      return { a, b };
    }

    it('measures a round trip over IPv4 and IPv6 from inside a namespace, moving no thread', async () => {
      const { a } = pair();
      const own = readlinkSync('/proc/self/ns/net');
      // A fresh IPv6 link drops the very first packet while neighbour discovery settles (so does
      // ping(8)); only once it answers is the measurement below meaningful.
      await expect
        .poll(
          () =>
            pingInNamespace(a.path, 'fd77::2', 200).then(
              () => true,
              () => false,
            ),
          { timeout: 5000 },
        )
        .toBe(true);
      const rtts = await Promise.all([
        pingInNamespace(a.path, '10.77.0.2', 1000),
        pingInNamespace(a.path, 'fd77::2', 1000),
      ]);
      for (const rtt of rtts) {
        expect(rtt).toBeGreaterThan(0);
        expect(rtt).toBeLessThan(1000);
      }
      const namespaces = new Set(
        readdirSync('/proc/self/task').map((t) => readlinkSync(`/proc/self/task/${t}/ns/net`)),
      );
      expect(namespaces).toEqual(new Set([own]));
    });

    it('times out when nobody answers, and fails at once without a route', async () => {
      const { a } = pair();
      const started = Date.now();
      const silent = await rejectionOf(pingInNamespace(a.path, '10.77.0.9', 100));
      expect(silent.code).toBe(Code.DEADLINE_EXCEEDED);
      expect(silent.message).toMatch(/ping 10\.77\.0\.9 from .*: no echo reply within 100 ms/);
      expect(Date.now() - started).toBeLessThan(1000);
      const noRoute = await rejectionOf(pingInNamespace(a.path, '203.0.113.1', 100));
      expect(noRoute.code).toBe(Code.UNAVAILABLE);
      expect(noRoute.message).toMatch(/ENETUNREACH/);
    });

    it('rejects a bad address and a missing namespace clearly', async () => {
      expect((await rejectionOf(pingInNamespace(null, 'not-an-ip'))).code).toBe(Code.INVALID_ARGUMENT);
      const gone = await rejectionOf(pingInNamespace('/run/netns/nsmt-none', '10.0.0.1'));
      expect(gone.code).toBe(Code.UNAVAILABLE);
      expect(gone.message).toMatch(/cannot ping from \/run\/netns\/nsmt-none: .*ENOENT/);
    });
  });
});

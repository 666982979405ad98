import { execFileSync } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Code } from '@nsm-ts/sdk/core';
import { NamespaceFixture, type TestNamespace, ipIn } from '../kernel/testing/netns-fixture.js';
import { pingInNamespace } from './ping.js';
import { isRoot, rejectionOf, rootTitle } from '@nsm-ts/sdk/testing';

/**
 * A path with a narrower middle: `src` —(MTU 1500)— `router` —(MTU 1400)— `dst`. Echoes with
 * don't-fragment that fit 1500 but not 1400 reach the router, which drops them and answers with
 * ICMP "fragmentation needed" / "packet too big".
 */
/** Waits until `addr` answers a small echo from `ns` (hooks cannot use expect.poll). */
async function answers(ns: TestNamespace, addr: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      await pingInNamespace(ns.path, addr, 200);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

describe.skipIf(!isRoot)(rootTitle('forwarder/src/liveness/ping-size'), () => {
  const fx = new NamespaceFixture();
  const label = `prb${process.pid}`;
  let src: TestNamespace;

  beforeAll(async () => {
    src = fx.add(`${label}s`);
    const router = fx.add(`${label}r`);
    const dst = fx.add(`${label}d`);
    ipIn(src.name, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'down0', 'netns', router.name);
    ipIn(
      router.name,
      'link',
      'add',
      'up1',
      'mtu',
      '1400',
      'type',
      'veth',
      'peer',
      'name',
      'down1',
      'netns',
      dst.name,
    );
    ipIn(dst.name, 'link', 'set', 'down1', 'mtu', '1400');
    const config: [TestNamespace, string, string, string][] = [
      [src, 'up0', '10.78.1.1/24', 'fd78:1::1/64'],
      [router, 'down0', '10.78.1.2/24', 'fd78:1::2/64'],
      [router, 'up1', '10.78.2.1/24', 'fd78:2::1/64'],
      [dst, 'down1', '10.78.2.2/24', 'fd78:2::2/64'],
    ];
    for (const [ns, dev, v4, v6] of config) {
      ipIn(ns.name, 'addr', 'add', v4, 'dev', dev);
      ipIn(ns.name, 'addr', 'add', v6, 'dev', dev, 'nodad');
      ipIn(ns.name, 'link', 'set', dev, 'up');
    }
    ipIn(src.name, 'route', 'add', 'default', 'via', '10.78.1.2');
    ipIn(src.name, '-6', 'route', 'add', 'default', 'via', 'fd78:1::2');
    ipIn(dst.name, 'route', 'add', 'default', 'via', '10.78.2.1');
    ipIn(dst.name, '-6', 'route', 'add', 'default', 'via', 'fd78:2::1');
    execFileSync('ip', ['netns', 'exec', router.name, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], {
      stdio: 'pipe',
    });
    execFileSync('ip', ['netns', 'exec', router.name, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1'], {
      stdio: 'pipe',
    });
    // Fresh links drop the first packets while neighbour discovery settles; wait until both
    // families get through end to end before measuring anything.
    for (const far of ['10.78.2.2', 'fd78:2::2']) await answers(src, far);
  });
  afterAll(() => fx.cleanup());

  it('carries an echo that fits the first link and refuses at once one that does not', async () => {
    // 1472 + 8 (ICMP) + 20 (IPv4) = 1500, the veth's MTU.
    expect(await pingInNamespace(src.path, '10.78.1.2', 1000, { size: 1472 })).toBeGreaterThan(0);
    const started = Date.now();
    const tooBig = await rejectionOf(pingInNamespace(src.path, '10.78.1.2', 1000, { size: 1473 }));
    expect(Date.now() - started).toBeLessThan(500);
    expect(tooBig.code).toBe(Code.FAILED_PRECONDITION);
    expect(tooBig.message).toMatch(
      /ping 10\.78\.1\.2 \(1473 bytes, don't fragment\) from .*: .*packet of 1501 bytes does not fit the MTU of 1500 of the outgoing interface \(EMSGSIZE\)/,
    );
    expect((tooBig.cause as { code?: string }).code).toBe('EMSGSIZE');
  });

  it('fails fast when a router on the path reports a smaller next-hop MTU (IPv4)', async () => {
    expect(await pingInNamespace(src.path, '10.78.2.2', 1000, { size: 1372 })).toBeGreaterThan(0);
    // Twice: the kernel now caches the path MTU of 1400, which the probe must not trust.
    for (let i = 0; i < 2; i++) {
      const started = Date.now();
      const err = await rejectionOf(pingInNamespace(src.path, '10.78.2.2', 1000, { size: 1472 }));
      expect(Date.now() - started).toBeLessThan(500);
      expect(err.code).toBe(Code.FAILED_PRECONDITION);
      expect(err.message).toMatch(
        /packet of 1500 bytes does not fit: 10\.78\.1\.2 reports a next-hop MTU of 1400/,
      );
    }
    expect(await pingInNamespace(src.path, '10.78.2.2', 1000, { size: 1372 })).toBeGreaterThan(0);
    // Without a size the echo stays small and may be fragmented as before.
    expect(await pingInNamespace(src.path, '10.78.2.2', 1000)).toBeGreaterThan(0);
  });

  it('fails fast when a router reports "packet too big" (IPv6)', async () => {
    // 1352 + 8 (ICMPv6) + 40 (IPv6) = 1400.
    expect(await pingInNamespace(src.path, 'fd78:2::2', 1000, { size: 1352 })).toBeGreaterThan(0);
    const err = await rejectionOf(pingInNamespace(src.path, 'fd78:2::2', 1000, { size: 1452 }));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toMatch(
      /IPv6 packet of 1500 bytes does not fit: fd78:1::2 reports a next-hop MTU of 1400/,
    );
    const local = await rejectionOf(pingInNamespace(src.path, 'fd78:2::2', 1000, { size: 1453 }));
    expect(local.message).toMatch(/does not fit the MTU of 1500 of the outgoing interface/);
  });

  it('keeps concurrent probes apart: one echo too big for the path fails only its own probe', async () => {
    const [big, small, plain] = await Promise.allSettled([
      pingInNamespace(src.path, '10.78.2.2', 1000, { size: 1472 }),
      pingInNamespace(src.path, '10.78.2.2', 1000, { size: 1372 }),
      pingInNamespace(src.path, '10.78.2.2', 1000),
    ]);
    expect(big.status).toBe('rejected');
    expect(small.status).toBe('fulfilled');
    expect(plain.status).toBe('fulfilled');
  });

  it('reports an unreachable destination the router answers for, instead of waiting', async () => {
    const started = Date.now();
    const err = await rejectionOf(pingInNamespace(src.path, '10.79.0.1', 2000, { size: 100 }));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toMatch(/10\.78\.1\.2 answered with ICMP type 3 code 0 \(ENETUNREACH\)/);
  });

  it('receives replies of the largest size', async () => {
    // Loopback's MTU is 65536, so 65000 bytes go unfragmented both ways.
    expect(await pingInNamespace(src.path, '127.0.0.1', 1000, { size: 65000 })).toBeGreaterThan(0);
  });

  it('rejects sizes out of range before sending', async () => {
    for (const size of [15, 65001, 100.5, Number.NaN]) {
      const err = await rejectionOf(pingInNamespace(src.path, '10.78.1.2', 100, { size }));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toMatch(/not a payload size of 16\.\.65000 bytes/);
    }
  });
});

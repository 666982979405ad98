import { readdirSync } from 'node:fs';

import { afterEach, describe, expect, test } from 'vitest';

import { isRoot } from '@nsm-ts/sdk/testing';

import { NamespaceFixture } from '../kernel/testing/netns-fixture.js';
import {
  createMemifClient,
  createMemifProxy,
  createMemifServer,
  type MemifInterface,
  type MemifProxy,
  type MemifProxyDown,
} from './index.js';
import { abstractName, Closer, frame, tempDir } from './testing/names.js';
import { proxied } from './testing/proxied.js';
import { threadTicks } from './testing/resources.js';

const closer = new Closer();
const fx = new NamespaceFixture();
const cleanups: (() => void)[] = [];
afterEach(() => {
  try {
    closer.closeAll();
  } finally {
    try {
      for (const c of cleanups.splice(0)) c();
    } finally {
      fx.cleanup();
    }
  }
});

function collect(iface: MemifInterface): Buffer[] {
  const got: Buffer[] = [];
  iface.on('frames', (f) => got.push(...f));
  return got;
}

function downs(p: MemifProxy): MemifProxyDown[] {
  const out: MemifProxyDown[] = [];
  p.on('down', (d) => out.push(d));
  p.on('rejected', (d) => out.push(d));
  return out;
}

describe('memif proxy (control messages relayed, one shared region)', () => {
  test('client and endpoint come up through the proxy; frames pass both ways without it', async () => {
    const { s, proxy, client } = proxied(closer);
    const ups: unknown[] = [];
    proxy.on('up', (u) => ups.push(u));
    const c = client();
    const [cu, su] = await Promise.all([
      c.waitUp(AbortSignal.timeout(5000)),
      s.waitUp(AbortSignal.timeout(5000)),
    ]);
    expect(cu.peerInterface).toBe('nse0');
    expect(su.peerInterface).toBe('nsc0');
    await expect.poll(() => ups).toEqual([{ id: 3, clientName: 'nsm-ts', endpointName: 'nsm-ts' }]);
    // HELLO, INIT, ADD_REGION, two ADD_RINGs, CONNECT and their answers; a region and two eventfds.
    const handshake = proxy.stats();
    expect(handshake).toMatchObject({
      sessions: 1,
      messages: 11,
      descriptors: 3,
      refused: 0,
      bad: 0,
      active: true,
    });
    const ticks = threadTicks('memif-proxy');
    const toS = collect(s);
    const toC = collect(c);
    let sent = 0;
    for (let i = 0; i < 200; i++) {
      sent += c.send(Array.from({ length: 100 }, (_, k) => frame(64 + ((i + k) % 1400), i * 100 + k)));
      s.send([frame(9000, i)]);
      await new Promise((r) => setTimeout(r, 1));
    }
    await expect.poll(() => toS.length).toBe(sent);
    await expect.poll(() => toC.length).toBe(200);
    expect(toC.every((f) => f.length === 9000)).toBe(true);
    // Not one more control message, and the proxy's thread did not run for the frames.
    expect(proxy.stats()).toEqual(handshake);
    expect(threadTicks('memif-proxy') - ticks).toBeLessThanOrEqual(1);
  });

  test('the endpoint is not there: the client hears why and gets through once it is', async () => {
    const ep = abstractName('late');
    const cl = abstractName('late-proxied');
    const proxy = closer.add(createMemifProxy({ listen: { socket: cl }, connect: { socket: ep } }));
    const c = closer.add(createMemifClient({ socket: cl, reconnectMs: 30 }));
    const rejected: string[] = [];
    c.on('rejected', (d) => rejected.push(d.reason));
    await expect.poll(() => rejected.length).toBeGreaterThan(0);
    expect(rejected[0]).toMatch(/^memif proxy: endpoint @nsm-memif-test\/.* unreachable: Connection refused/);
    expect(proxy.stats().refused).toBeGreaterThan(0);
    expect(proxy.stats().sessions).toBe(0);
    const srv = closer.add(createMemifServer({ socket: ep }));
    await Promise.all([
      c.waitUp(AbortSignal.timeout(5000)),
      srv.interface(0).waitUp(AbortSignal.timeout(5000)),
    ]);
    expect(proxy.stats().sessions).toBe(1);
  });

  test('one session at a time: a second client is turned away with the reason', async () => {
    const { s, proxy, client } = proxied(closer);
    const first = client();
    await Promise.all([first.waitUp(AbortSignal.timeout(5000)), s.waitUp(AbortSignal.timeout(5000))]);
    const second = client();
    const why = await new Promise<string>((resolve) => second.once('rejected', (d) => resolve(d.reason)));
    expect(why).toBe('memif proxy: a session is already active');
    expect(proxy.stats()).toMatchObject({ sessions: 1, refused: expect.any(Number) as unknown });
    // When the first leaves, the second gets its turn.
    first.close();
    await Promise.all([second.waitUp(AbortSignal.timeout(5000)), s.waitUp(AbortSignal.timeout(5000))]);
    expect(proxy.stats().sessions).toBe(2);
  });

  test('restarts: the endpoint leaving takes the client down with its reason, and back up after', async () => {
    const { ep, srv, proxy, client } = proxied(closer);
    const seen = downs(proxy);
    const c = client();
    await c.waitUp(AbortSignal.timeout(5000));
    const down = new Promise<{ reason: string; byPeer: boolean }>((resolve) => c.once('down', resolve));
    srv.close();
    expect(await down).toMatchObject({ reason: 'interface closed', byPeer: true });
    await expect.poll(() => seen[0]).toMatchObject({ reason: 'interface closed', byPeer: true });
    const again = closer.add(createMemifServer({ socket: ep, interfaces: [{ id: 3, secret: 's3' }] }));
    await Promise.all([
      c.waitUp(AbortSignal.timeout(5000)),
      again.interface(3).waitUp(AbortSignal.timeout(5000)),
    ]);
    const got = collect(again.interface(3));
    c.send([frame(100, 1)]);
    await expect.poll(() => got.length).toBe(1);
  });

  test('restarts: the client leaving takes the endpoint down with its reason; the next client comes up', async () => {
    const { s, proxy, client } = proxied(closer);
    const seen = downs(proxy);
    const c = client();
    await Promise.all([c.waitUp(AbortSignal.timeout(5000)), s.waitUp(AbortSignal.timeout(5000))]);
    const down = new Promise<{ reason: string; byPeer: boolean }>((resolve) => s.once('down', resolve));
    c.close();
    expect(await down).toMatchObject({ reason: 'interface closed', byPeer: true });
    await expect.poll(() => seen[0]).toMatchObject({ reason: 'interface closed', byPeer: true, id: 3 });
    const next = client();
    await Promise.all([next.waitUp(AbortSignal.timeout(5000)), s.waitUp(AbortSignal.timeout(5000))]);
    const got = collect(next);
    s.send([frame(64, 2)]);
    await expect.poll(() => got.length).toBe(1);
  });

  test('closing the proxy ends the session on both sides and removes its socket file', async () => {
    const d = tempDir();
    cleanups.push(() => d.remove());
    const ep = abstractName('close');
    const srv = closer.add(createMemifServer({ socket: ep }));
    const proxy = createMemifProxy({ listen: { socket: d.path('p.sock') }, connect: { socket: ep } });
    const c = closer.add(createMemifClient({ socket: d.path('p.sock'), reconnectMs: 30 }));
    await Promise.all([
      c.waitUp(AbortSignal.timeout(5000)),
      srv.interface(0).waitUp(AbortSignal.timeout(5000)),
    ]);
    const reasons = Promise.all(
      [c, srv.interface(0)].map((i) => new Promise<string>((r) => i.once('down', (x) => r(x.reason)))),
    );
    proxy.close();
    expect(await reasons).toEqual(['memif proxy closed', 'memif proxy closed']);
    expect(readdirSync(d.dir)).toEqual([]);
    expect(() => proxy.stats()).toThrow(/closed/);
  });

  test('options are checked', () => {
    expect(() => createMemifProxy({ listen: { socket: '' }, connect: { socket: '@x' } })).toThrow(
      expect.objectContaining({ code: 3, message: expect.stringContaining('is empty') as unknown }),
    );
    expect(() =>
      createMemifProxy({
        listen: { socket: abstractName('o') },
        connect: { socket: '@x' },
        handshakeTimeoutMs: 1,
      }),
    ).toThrow(/handshakeTimeoutMs/);
    expect(() =>
      createMemifProxy({
        listen: { socket: abstractName('o'), netns: '/proc/0/ns/net' },
        connect: { socket: '@x' },
      }),
    ).toThrow(
      expect.objectContaining({
        code: 5,
        message: expect.stringContaining('open(/proc/0/ns/net)') as unknown,
      }),
    );
  });
});

describe.skipIf(!isRoot)('memif proxy across namespaces (root)', () => {
  test("listens in the client's namespace, connects in the endpoint's: frames pass", async () => {
    const a = fx.add('pxa');
    const b = fx.add('pxb');
    const { s, cl, client } = proxied(closer, { listenNs: a.path, connectNs: b.path });
    const c = client();
    await Promise.all([c.waitUp(AbortSignal.timeout(5000)), s.waitUp(AbortSignal.timeout(5000))]);
    const got = collect(s);
    c.send([frame(1500, 1), frame(64, 2)]);
    await expect.poll(() => got.length).toBe(2);
    // The proxied name exists only in the client's namespace.
    const outside = closer.add(createMemifClient({ socket: cl, id: 3, secret: 's3', reconnectMs: 20 }));
    await new Promise((r) => setTimeout(r, 200));
    expect(outside.stats().connects).toBe(0);
  });
});

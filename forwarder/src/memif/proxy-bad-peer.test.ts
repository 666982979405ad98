import { afterEach, describe, expect, test } from 'vitest';

import { createMemifClient, createMemifProxy, createMemifServer } from './index.js';
import { badClient, badServer, fuzzServer, hasPython } from './testing/bad-peer.js';
import { abstractName, Closer } from './testing/names.js';
import { proxied } from './testing/proxied.js';

const closer = new Closer();
const cleanups: (() => void)[] = [];
afterEach(() => {
  try {
    closer.closeAll();
  } finally {
    for (const c of cleanups.splice(0)) c();
  }
});

describe.skipIf(!hasPython())('memif proxy and bad peers (python3)', () => {
  test.each([
    ['trunc', 'memif proxy: message of 64 bytes, expected 128 from the client'],
    ['oversize', 'memif proxy: message of 200 bytes, expected 128 from the client'],
    ['unknown_type', 'memif proxy: unknown message type 99 from the client'],
    ['none_type', 'memif proxy: unknown message type 0 from the client'],
    ['many_fds', 'memif proxy: too many descriptors with one message from the client'],
    ['region_no_fd', 'memif proxy: ADD_REGION with 0 descriptors from the client, expected 1'],
    ['ring_no_fd', 'memif proxy: ADD_RING with 0 descriptors from the client, expected 1'],
    ['hello_from_client', 'memif proxy: HELLO from the client, which never sends it'],
    ['region_not_memfd', 'memif proxy: region descriptor is not a memory file from the client'],
    ['region_unsealed', 'memif proxy: region file not sealed against shrinking from the client'],
    ['region_too_big', /^memif proxy: region size \d+ exceeds its file \(\d+\) from the client$/],
    ['ring_not_eventfd', 'memif proxy: ring interrupt is not an eventfd from the client'],
  ] as [string, string | RegExp][])(
    'a client sending %s is disconnected with the reason, so is the endpoint',
    async (scenario, reason) => {
      const { srv, s, cl, proxy, client } = proxied(closer, { plain: true });
      const told: string[] = [];
      srv.on('rejected', (d) => told.push(d.reason));
      const reply = await badClient(cl, scenario);
      // The DISCONNECT string holds 95 characters.
      const want: unknown = typeof reason === 'string' ? reason.slice(0, 95) : expect.stringMatching(reason);
      expect(reply).toMatchObject({ type: 'DISCONNECT', reason: want });
      // The endpoint heard the same reason.
      await expect.poll(() => told).toEqual([want]);
      expect(proxy.stats().bad).toBe(1);
      const good = client();
      await Promise.all([good.waitUp(AbortSignal.timeout(5000)), s.waitUp(AbortSignal.timeout(5000))]);
    },
  );

  test('requireSeal: false passes an unsealed region on, and the endpoint decides', async () => {
    const srv = closer.add(createMemifServer({ socket: abstractName('unsealed-ep') }));
    const cl = abstractName('unsealed');
    closer.add(
      createMemifProxy({ listen: { socket: cl }, connect: { socket: srv.socket }, requireSeal: false }),
    );
    const reply = await badClient(cl, 'region_unsealed');
    expect(reply).toMatchObject({ type: 'DISCONNECT', reason: 'region file not sealed against shrinking' });
  });

  test('a client that stays silent is ended when the handshake time is up', async () => {
    const { cl, proxy } = proxied(closer, { plain: true, handshakeMs: 300 });
    const reply = await badClient(cl, 'silent');
    expect(reply).toMatchObject({ type: 'DISCONNECT', reason: 'memif proxy: handshake timed out', code: 3 });
    expect(proxy.stats().active).toBe(false);
  });

  test('a client that vanishes: the endpoint hears that it closed the control channel', async () => {
    const { s, cl } = proxied(closer, { plain: true });
    const told = new Promise<string>((r) => s.once('rejected', (d) => r(d.reason)));
    await badClient(cl, 'vanish');
    expect(await told).toBe('memif proxy: client closed the control channel');
  });

  test.each([
    ['hello_trunc', 'memif proxy: message of 50 bytes, expected 128 from the endpoint'],
    ['disconnect', 'go away'],
    ['vanish', 'memif proxy: endpoint closed the control channel'],
  ])('an endpoint that sends %s: our client hears why', async (scenario, reason) => {
    const ep = abstractName('bad-endpoint');
    const cl = abstractName('bad-endpoint-proxied');
    const peer = badServer(ep, scenario);
    cleanups.push(() => peer.kill());
    await peer.listening;
    closer.add(createMemifProxy({ listen: { socket: cl }, connect: { socket: ep } }));
    const c = closer.add(createMemifClient({ socket: cl, reconnectMs: 5000 }));
    const why = await new Promise<string>((r) => c.once('rejected', (d) => r(d.reason)));
    expect(why).toBe(reason);
  });

  test('fuzzing through the proxy: it and the endpoint stay healthy', async () => {
    const { s, cl, proxy, client } = proxied(closer, { plain: true });
    const r = await fuzzServer(cl, 300, 11);
    expect(r.iterations).toBe(300);
    expect(proxy.stats().active).toBe(false);
    const good = client();
    await Promise.all([good.waitUp(AbortSignal.timeout(5000)), s.waitUp(AbortSignal.timeout(5000))]);
  }, 60_000);
});

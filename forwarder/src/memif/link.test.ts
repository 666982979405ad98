import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';

import { afterEach, describe, expect, test } from 'vitest';

import { createMemifClient, createMemifServer, type MemifInterface } from './index.js';
import { abstractName, Closer, frame, tempDir } from './testing/names.js';

const closer = new Closer();
const dirs: { remove(): void }[] = [];
afterEach(() => {
  try {
    closer.closeAll();
  } finally {
    for (const d of dirs.splice(0)) d.remove();
  }
});

function collect(iface: MemifInterface): Buffer[] {
  const got: Buffer[] = [];
  iface.on('frames', (f) => got.push(...f));
  return got;
}

async function pair(
  socket: string,
  opts: { mode?: 'interrupt' | 'polling'; bufferSize?: number; ringSize?: number } = {},
) {
  const srv = closer.add(
    createMemifServer({
      socket,
      ...(opts.mode ? { mode: opts.mode } : {}),
      interfaces: [{ id: 0, name: 'srv0' }],
    }),
  );
  const cli = closer.add(createMemifClient({ socket, reconnectMs: 20, name: 'cli0', ...opts }));
  const [cu, su] = await Promise.all([cli.waitUp(), srv.interface(0).waitUp()]);
  return { srv, s: srv.interface(0), cli, cu, su };
}

describe('memif link', () => {
  test('abstract socket: both sides come up and frames pass both ways, chained when larger than a buffer', async () => {
    const { s, cli, cu, su } = await pair(abstractName('ab'), { bufferSize: 256, ringSize: 256 });
    expect(cu).toMatchObject({ peerName: 'nsm-ts', peerInterface: 'srv0', ringSize: 256, bufferSize: 256 });
    expect(su).toMatchObject({ peerName: 'nsm-ts', peerInterface: 'cli0', ringSize: 256 });
    const toServer = collect(s);
    const toClient = collect(cli);
    const frames = [frame(64, 1), frame(256, 2), frame(257, 3), frame(9000, 4), frame(1, 5)];
    expect(cli.send(frames)).toBe(frames.length);
    expect(s.send(frames)).toBe(frames.length);
    await expect.poll(() => toServer.length + toClient.length).toBe(2 * frames.length);
    for (const got of [toServer, toClient]) got.forEach((f, i) => expect(f.equals(frames[i]!)).toBe(true));
    expect(cli.stats()).toMatchObject({
      txFrames: 5,
      rxFrames: 5,
      txBytes: 9578,
      rxBytes: 9578,
      rxErrors: 0,
      up: true,
    });
  });

  test('chained and single frames take turns on the same ring slots, both ways: each arrives whole', async () => {
    // Eight slots of 256 bytes. Each round fills the ring with frames of 1 to 4 buffers, from
    // where the last round ended and in another order, so that a slot that ended or continued a
    // chain in one round carries a frame of its own in another, and chains get shorter and longer.
    const { s, cli } = await pair(abstractName('reuse'), { bufferSize: 256, ringSize: 8 });
    const toServer = collect(s);
    const toClient = collect(cli);
    const sizes = [700, 60, 300, 1, 256, 1024, 257, 64, 513, 100]; // 3, 1, 2, 1, 1, 4, 2, 1, 3, 1 buffers
    const sent: Buffer[] = [];
    for (let round = 0; round < 30; round++) {
      const batch: Buffer[] = [];
      for (let i = round, slots = 0; ; i++) {
        const len = sizes[i % sizes.length]!;
        slots += Math.ceil(len / 256);
        if (slots > 8) break;
        batch.push(frame(len, sent.length + batch.length));
      }
      expect(cli.send(batch)).toBe(batch.length);
      expect(s.send(batch)).toBe(batch.length);
      sent.push(...batch);
      await expect.poll(() => [toServer.length, toClient.length]).toEqual([sent.length, sent.length]);
    }
    for (const got of [toServer, toClient]) {
      expect(got.map((f) => f.length)).toEqual(sent.map((f) => f.length));
      got.forEach((f, i) => expect(f.equals(sent[i]!)).toBe(true));
    }
    expect([s.stats().rxErrors, cli.stats().rxErrors]).toEqual([0, 0]);
  });

  test('path socket: the file exists while open and is removed on close; a stale file is replaced', async () => {
    const d = tempDir();
    dirs.push(d);
    const path = d.path('memif.sock');
    writeFileSync(path, ''); // not a socket: refused, not removed
    expect(() => createMemifServer({ socket: path })).toThrow(/EADDRINUSE/);
    d.remove();
    const d2 = tempDir();
    dirs.push(d2);
    const p2 = d2.path('memif.sock');
    const first = createMemifServer({ socket: p2 });
    expect(() => createMemifServer({ socket: p2 })).toThrow(expect.objectContaining({ code: 6 })); // ALREADY_EXISTS
    first.close();
    expect(existsSync(p2)).toBe(false);
    // A socket file left by a process that died (bound, never unlinked) is replaced.
    execFileSync('python3', [
      '-c',
      `import socket; socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).bind(${JSON.stringify(p2)})`,
    ]);
    expect(existsSync(p2)).toBe(true);
    const { s, cli } = await pair(p2);
    expect(existsSync(p2)).toBe(true);
    const got = collect(s);
    cli.send([frame(100, 9)]);
    await expect.poll(() => got.length).toBe(1);
    closer.closeAll();
    expect(existsSync(p2)).toBe(false);
  });

  test('polling mode on both sides passes frames', async () => {
    const { s, cli } = await pair(abstractName('poll'), { mode: 'polling' });
    const got = collect(s);
    const back = collect(cli);
    for (let i = 0; i < 20; i++) cli.send([frame(60, i), frame(3000, i)]);
    s.send([frame(1500, 1)]);
    await expect.poll(() => got.length).toBe(40);
    await expect.poll(() => back.length).toBe(1);
  });

  test('a full ring takes only what fits and counts the rest', async () => {
    const srv = closer.add(createMemifServer({ socket: abstractName('full') }));
    const cli = closer.add(createMemifClient({ socket: srv.socket, ringSize: 16, reconnectMs: 20 }));
    await cli.waitUp();
    // 40 frames of 3 buffers each: 5 fit in 16 slots.
    const sent = cli.send(Array.from({ length: 40 }, (_, i) => frame(5000, i)));
    expect(sent).toBeLessThanOrEqual(5);
    expect(cli.stats().txNoSpace).toBe(40 - sent);
  });

  test('DISCONNECT carries the reason both ways; the client reconnects and the server takes the next client', async () => {
    const socket = abstractName('re');
    const { srv, s, cli } = await pair(socket);
    const serverDowns: unknown[] = [];
    const clientDowns: unknown[] = [];
    s.on('down', (d) => serverDowns.push(d));
    cli.on('down', (d) => clientDowns.push(d));
    srv.close();
    await expect.poll(() => clientDowns).toEqual([{ reason: 'interface closed', code: 0, byPeer: true }]);
    expect(serverDowns).toEqual([{ reason: 'interface closed', code: 0, byPeer: false }]);
    // A new server at the same address: the client finds it on its own.
    const srv2 = closer.add(createMemifServer({ socket }));
    await Promise.all([cli.waitUp(), srv2.interface(0).waitUp()]);
    const downs2: unknown[] = [];
    srv2.interface(0).on('down', (d) => downs2.push(d));
    cli.close();
    await expect.poll(() => downs2).toEqual([{ reason: 'interface closed', code: 0, byPeer: true }]);
    const next = closer.add(createMemifClient({ socket, reconnectMs: 20 }));
    await next.waitUp();
    const got = collect(srv2.interface(0));
    next.send([frame(77, 7)]);
    await expect.poll(() => got.length).toBe(1);
    expect(srv2.interface(0).stats()).toMatchObject({ connects: 2, disconnects: 1 });
  });

  test('one server socket serves several ids and refuses unknown ids, wrong secrets and a second client', async () => {
    const socket = abstractName('ids');
    const srv = closer.add(
      createMemifServer({ socket, interfaces: [{ id: 1 }, { id: 2, secret: 's3cret' }] }),
    );
    const rejected: unknown[] = [];
    srv.on('rejected', (r) => rejected.push(r));
    const one = closer.add(createMemifClient({ socket, id: 1, reconnectMs: 20 }));
    const two = closer.add(createMemifClient({ socket, id: 2, secret: 's3cret', reconnectMs: 20 }));
    await Promise.all([one.waitUp(), two.waitUp()]);
    const got1 = collect(srv.interface(1));
    const got2 = collect(srv.interface(2));
    one.send([frame(10, 1)]);
    two.send([frame(20, 2), frame(30, 3)]);
    await expect.poll(() => [got1.length, got2.length]).toEqual([1, 2]);

    const refusal = async (opts: { id: number; secret?: string }): Promise<unknown> => {
      const c = closer.add(createMemifClient({ socket, reconnectMs: 5000, ...opts }));
      return new Promise((resolve) => c.once('rejected', resolve));
    };
    await expect(refusal({ id: 3 })).resolves.toEqual({
      reason: 'interface id 3 not found',
      code: 2,
      byPeer: true,
    });
    await expect(refusal({ id: 2 })).resolves.toMatchObject({ reason: 'interface id 2 already connected' });
    two.close();
    await expect.poll(() => srv.interface(2).up).toBe(false);
    await expect(refusal({ id: 2 })).resolves.toMatchObject({ reason: 'secret required', byPeer: true });
    await expect(refusal({ id: 2, secret: 'nope' })).resolves.toMatchObject({
      reason: 'wrong secret',
      byPeer: true,
    });
    // The server's own account arrives on its own thread's events, maybe after the client's.
    await expect
      .poll(() => rejected)
      .toContainEqual({ reason: 'interface id 3 not found', code: 2, byPeer: false, id: 3 });
    await expect
      .poll(() => rejected)
      .toContainEqual({ reason: 'wrong secret', code: 2, byPeer: false, id: 2 });
    expect(srv.interface(1).up).toBe(true);
  });
});

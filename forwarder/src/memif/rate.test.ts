import { existsSync } from 'node:fs';

import { afterAll, afterEach, describe, expect, test } from 'vitest';

import { createMemifClient, createMemifProxy, createMemifServer, type MemifInterface } from './index.js';
import { abstractName, Closer, tempDir } from './testing/names.js';
import { stopAll, Testpmd, TESTPMD } from './testing/testpmd.js';
import { blast as blastUntil, countFrames as counter } from './testing/traffic.js';

// Quick packet-rate figures, printed, not asserted beyond "frames moved": this machine has two
// shared vCPUs and the numbers only make sense side by side from one run.
const SECONDS = 2;
const BATCH = 256;
const closer = new Closer();
const pmds: Testpmd[] = [];
const dirs: { remove(): void }[] = [];
const figures: string[] = [];
let n = 0;

afterEach(() =>
  stopAll(
    pmds,
    () => closer.closeAll(),
    () => {
      for (const d of dirs.splice(0)) d.remove();
    },
  ),
);
afterAll(() =>
  console.log(`memif figures (${SECONDS} s each, batches of ${BATCH}):\n  ${figures.join('\n  ')}`),
);

/** Sends as fast as the ring takes frames for SECONDS. */
const blast = (iface: MemifInterface, len: number): Promise<number> =>
  blastUntil(iface, len, AbortSignal.timeout(SECONDS * 1000), BATCH);

function fmt(frames: number, len: number, seconds: number): string {
  const pps = frames / seconds;
  return `${(pps / 1e6).toFixed(2)} Mpps, ${((pps * len * 8) / 1e9).toFixed(2)} Gbit/s`;
}

// Busy-polling testpmd for seconds would slow every other suite of a full run: on request only.
const RATE = process.env['NSM_MEMIF_RATE'] === '1';

describe.skipIf(!RATE)('memif packet rate (NSM_MEMIF_RATE=1 to measure)', () => {
  test.each([64, 1500])(
    'our client to our server, %i-byte frames (one process, JS on both ends)',
    async (len) => {
      const socket = abstractName(`rate${len}`);
      const srv = closer.add(createMemifServer({ socket }));
      const cli = closer.add(createMemifClient({ socket, reconnectMs: 10 }));
      await Promise.all([cli.waitUp(), srv.interface(0).waitUp()]);
      const got = counter(srv.interface(0));
      const t0 = performance.now();
      const sent = await blast(cli, len);
      await expect.poll(() => got.frames, { timeout: 10_000 }).toBe(sent);
      const secs = (performance.now() - t0) / 1000;
      figures.push(`ours -> ours      ${len}B: ${fmt(got.frames, len, secs)} delivered to JS`);
      expect(got.frames).toBeGreaterThan(1000);
    },
    30_000,
  );

  test('our client to our server through the proxy, 64-byte frames (the proxy is not on the data path)', async () => {
    const socket = abstractName('rate-proxied-ep');
    const listen = abstractName('rate-proxied');
    const srv = closer.add(createMemifServer({ socket }));
    closer.add(createMemifProxy({ listen: { socket: listen }, connect: { socket } }));
    const cli = closer.add(createMemifClient({ socket: listen, reconnectMs: 10 }));
    await Promise.all([cli.waitUp(), srv.interface(0).waitUp()]);
    const got = counter(srv.interface(0));
    const t0 = performance.now();
    const sent = await blast(cli, 64);
    await expect.poll(() => got.frames, { timeout: 10_000 }).toBe(sent);
    const secs = (performance.now() - t0) / 1000;
    figures.push(`ours -> proxy -> ours 64B: ${fmt(got.frames, 64, secs)} delivered to JS`);
  }, 30_000);

  describe.skipIf(!TESTPMD)('with dpdk-testpmd', () => {
    const start = async (o: Omit<ConstructorParameters<typeof Testpmd>[0], 'prefix'>): Promise<Testpmd> => {
      const p = new Testpmd({ ...o, prefix: `nsm-memif-rate-${process.pid}-${++n}` });
      pmds.push(p);
      await expect.poll(() => p.started, { timeout: 30_000 }).toBe(true);
      return p;
    };
    const path = (): string => {
      const d = tempDir();
      dirs.push(d);
      return d.path('memif.sock');
    };

    test('our client to testpmd rxonly (64 bytes)', async () => {
      const socket = path();
      const pending = new Testpmd({
        role: 'server',
        socket,
        forwardMode: 'rxonly',
        prefix: `nsm-memif-rate-${process.pid}-${++n}`,
      });
      pmds.push(pending);
      await expect.poll(() => existsSync(socket), { timeout: 30_000 }).toBe(true);
      const cli = closer.add(createMemifClient({ socket, reconnectMs: 20 }));
      await cli.waitUp();
      await expect.poll(() => pending.started, { timeout: 30_000 }).toBe(true);
      const t0 = performance.now();
      const sent = await blast(cli, 64);
      const secs = (performance.now() - t0) / 1000;
      const theirs = await pmds.pop()!.stop();
      // Frames still in the ring when testpmd stopped are not in its count.
      expect(theirs.rxPackets).toBeLessThanOrEqual(sent);
      expect(theirs.rxPackets).toBeGreaterThan(sent - 1024);
      figures.push(
        `ours -> testpmd   64B: ${fmt(sent, 64, secs)} (testpmd peak ${(theirs.rxPps / 1e6).toFixed(2)} Mpps)`,
      );
    }, 60_000);

    test('testpmd txonly to our server (64 bytes)', async () => {
      const socket = path();
      const srv = closer.add(createMemifServer({ socket }));
      const got = counter(srv.interface(0));
      const pmd = new Testpmd({
        role: 'client',
        socket,
        forwardMode: 'txonly',
        prefix: `nsm-memif-rate-${process.pid}-${++n}`,
      });
      pmds.push(pmd);
      await srv.interface(0).waitUp(AbortSignal.timeout(30_000));
      await expect.poll(() => pmd.started, { timeout: 30_000 }).toBe(true);
      const before = got.frames;
      await new Promise((r) => setTimeout(r, SECONDS * 1000));
      const frames = got.frames - before;
      const theirs = await pmds.pop()!.stop();
      figures.push(
        `testpmd -> ours   64B: ${fmt(frames, 64, SECONDS)} delivered to JS (testpmd offered peak ${(theirs.txPps / 1e6).toFixed(2)} Mpps, the rest dropped at its side)`,
      );
      expect(frames).toBeGreaterThan(1000);
    }, 60_000);

    test('testpmd txonly to testpmd rxonly (64 bytes), the reference on the same cores', async () => {
      const socket = path();
      const rx = await start({ role: 'server', socket, forwardMode: 'rxonly', cores: '1,0' });
      const tx = await start({ role: 'client', socket, forwardMode: 'txonly', cores: '0,1' });
      await new Promise((r) => setTimeout(r, SECONDS * 1000 + 1500));
      const t = await tx.stop();
      const r = await rx.stop();
      pmds.length = 0;
      figures.push(
        `testpmd -> testpmd 64B: peak ${(r.rxPps / 1e6).toFixed(2)} Mpps received (sender peak ${(t.txPps / 1e6).toFixed(2)} Mpps)`,
      );
      // Its forward statistics stay at 0 in this pairing here; the port's own rate is what counts.
      expect(r.rxPps).toBeGreaterThan(1000);
    }, 60_000);
  });
});

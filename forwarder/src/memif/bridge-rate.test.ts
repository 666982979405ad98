import { afterAll, afterEach, describe, expect, test } from 'vitest';

import { isRoot } from '@nsm-ts/sdk/testing';

import { NamespaceFixture } from '../kernel/testing/netns-fixture.js';
import { createMemifBridge, createMemifClient, loadMemifAddon, type MemifInterface } from './index.js';
import { abstractName, Closer } from './testing/names.js';
import { stopAll, Testpmd, TESTPMD } from './testing/testpmd.js';
import { blast as blastUntil } from './testing/traffic.js';
import { linkStats, vethPair, type VethPair } from './testing/wires.js';

// Frame rates through the bridge beside the same veth fed by sendmmsg alone, printed side by
// side from one run (2 shared vCPUs: only the ratios mean much). On request: NSM_MEMIF_RATE=1.
const RATE = process.env['NSM_MEMIF_RATE'] === '1';
const MS = 2000;
const LEN = 64;
const fx = new NamespaceFixture();
const closer = new Closer();
const figures: string[] = [];
const pmds: Testpmd[] = [];
afterEach(() =>
  stopAll(
    pmds,
    () => closer.closeAll(),
    () => fx.cleanup(),
  ),
);
afterAll(() => {
  if (figures.length)
    console.log(`memif bridge figures (${LEN}-byte frames, ${MS} ms each):\n  ${figures.join('\n  ')}`);
});

const mpps = (frames: number, ms: number): string => `${(frames / ms / 1000).toFixed(2)} Mpps`;

/** Sends from JS as fast as the ring takes frames for MS. */
const blast = (iface: MemifInterface): Promise<number> => blastUntil(iface, LEN, AbortSignal.timeout(MS));

async function bridged(w: VethPair, batch: number): Promise<ReturnType<typeof createMemifClient>> {
  const socket = abstractName('rate');
  const bridge = closer.add(
    createMemifBridge({
      memif: { role: 'server', socket },
      kernel: { ifname: w.ifA, netns: w.a.path },
      batch,
    }),
  );
  const client = closer.add(createMemifClient({ socket, reconnectMs: 20 }));
  await Promise.all([bridge.waitUp(AbortSignal.timeout(5000)), client.waitUp(AbortSignal.timeout(5000))]);
  return client;
}

describe.skipIf(!RATE || !isRoot)('memif bridge packet rate (NSM_MEMIF_RATE=1, root)', () => {
  test('memif -> kernel through the bridge, beside sendmmsg alone on the same veth', async () => {
    const w = vethPair(fx, 'rt');
    const kernel = { ifname: w.ifA, netns: w.a.path };
    // The bridge shares two vCPUs with its producer; sendmmsg alone is measured both with the
    // other vCPU idle and with it busy (this thread spinning), the fair comparison.
    for (const [ring, busy] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      const before = linkStats(w.b.name, w.ifB).rx;
      const pending = loadMemifAddon().packetBlast({ kernel, size: LEN, ms: MS, batch: 64, ring });
      if (busy) for (const end = Date.now() + MS; Date.now() < end;);
      const base = await pending;
      const baseRx = linkStats(w.b.name, w.ifB).rx - before;
      const how = `${ring ? 'PACKET_MMAP TX ring' : 'sendmmsg, batch 64'}, other vCPU ${busy ? 'busy' : 'idle'}`;
      figures.push(
        `veth alone (${how}): sent ${mpps(base.frames, base.ms)}, arrived ${mpps(baseRx, base.ms)}`,
      );
    }
    for (const batch of [64, 256]) {
      const client = await bridged(w, batch);
      const before = linkStats(w.b.name, w.ifB).rx;
      const t0 = performance.now();
      const sent = await blast(client);
      const ms = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 100));
      const rx = linkStats(w.b.name, w.ifB).rx - before;
      figures.push(
        `JS memif client -> bridge (batch ${batch}) -> veth: sent ${mpps(sent, ms)}, arrived ${mpps(rx, ms)}`,
      );
      expect(rx).toBeGreaterThan(0);
      closer.closeAll();
    }
  }, 60_000);

  test('kernel -> memif through the bridge', async () => {
    const w = vethPair(fx, 'rk');
    const client = await bridged(w, 64);
    let got = 0;
    client.on('frames', (f) => (got += f.length));
    const r = await loadMemifAddon().packetBlast({
      kernel: { ifname: w.ifB, netns: w.b.path },
      size: LEN,
      ms: MS,
      batch: 64,
    });
    await new Promise((res) => setTimeout(res, 200));
    figures.push(
      `veth (sendmmsg ${mpps(r.frames, r.ms)}) -> bridge -> JS memif client: ${mpps(got, r.ms)} delivered`,
    );
    expect(got).toBeGreaterThan(0);
  }, 60_000);

  /** A veth pair, the bridge on its first end, and testpmd in `mode` as the bridge's memif client, all up. */
  async function bridgedTestpmd(tag: string, mode: 'txonly' | 'rxonly') {
    const w = vethPair(fx, tag);
    const socket = abstractName(`rate-pmd-${mode}`);
    const bridge = closer.add(
      createMemifBridge({
        memif: { role: 'server', socket },
        kernel: { ifname: w.ifA, netns: w.a.path },
        batch: 64,
      }),
    );
    const pmd = new Testpmd({
      role: 'client',
      socket,
      forwardMode: mode,
      prefix: `nsm-memif-b${mode}-${process.pid}`,
    });
    pmds.push(pmd);
    await bridge.waitUp(AbortSignal.timeout(30_000));
    await expect.poll(() => pmd.started, { timeout: 30_000 }).toBe(true);
    return { w, bridge };
  }

  test.skipIf(!TESTPMD)(
    'testpmd txonly (a native memif producer) -> bridge -> kernel',
    async () => {
      const { w, bridge } = await bridgedTestpmd('rp', 'txonly');
      const before = linkStats(w.b.name, w.ifB).rx;
      const k0 = bridge.stats().toKernel.frames;
      await new Promise((r) => setTimeout(r, MS));
      const rx = linkStats(w.b.name, w.ifB).rx - before;
      const k = bridge.stats().toKernel.frames - k0;
      const theirs = await pmds.pop()!.stop();
      figures.push(
        `testpmd txonly (offered peak ${(theirs.txPps / 1e6).toFixed(2)} Mpps) -> bridge -> veth: ${mpps(k, MS)} sent, ${mpps(rx, MS)} arrived`,
      );
      expect(rx).toBeGreaterThan(0);
    },
    60_000,
  );

  test.skipIf(!TESTPMD)(
    'kernel -> bridge -> testpmd rxonly (a native memif consumer)',
    async () => {
      const { w, bridge } = await bridgedTestpmd('rq', 'rxonly');
      const kernel = { ifname: w.ifB, netns: w.b.path };
      const r = await loadMemifAddon().packetBlast({ kernel, size: LEN, ms: MS, batch: 64 });
      const s = bridge.stats().toMemif;
      const theirs = await pmds.pop()!.stop();
      figures.push(
        `veth (sendmmsg ${mpps(r.frames, r.ms)}) -> bridge -> testpmd rxonly: ${mpps(s.frames, r.ms)} into the ring, ${mpps(s.drops, r.ms)} dropped (ring full), testpmd peak ${(theirs.rxPps / 1e6).toFixed(2)} Mpps`,
      );
      expect(s.frames).toBeGreaterThan(0);
    },
    60_000,
  );
});

import { existsSync } from 'node:fs';

import { afterEach, describe, expect, test } from 'vitest';

import { createMemifClient, createMemifServer, type MemifInterface } from './index.js';
import { abstractName, Closer, tempDir } from './testing/names.js';
import { stopAll, Testpmd, TESTPMD } from './testing/testpmd.js';
import { exchange, isSwapped, seqOf } from './testing/traffic.js';

const closer = new Closer();
const pmds: Testpmd[] = [];
const dirs: { remove(): void }[] = [];
let n = 0;
const prefix = (): string => `nsm-memif-${process.pid}-${++n}`;

afterEach(() =>
  stopAll(
    pmds,
    () => closer.closeAll(),
    () => {
      for (const d of dirs.splice(0)) d.remove();
    },
  ),
);

/**
 * Frames of two buffers (3000 bytes) and of one take turns, so that ring slots that carried the
 * middle or the end of a chain carry single frames later: each comes back with its own length.
 */
async function mixedChains(iface: MemifInterface): Promise<void> {
  const lenOf = (seq: number): number => (seq % 3 === 0 ? 3000 : 64);
  const back = await exchange(iface, 2000, lenOf, 32);
  expect(back.filter((f) => f.length !== lenOf(seqOf(f)) || !isSwapped(f))).toEqual([]);
}

/** testpmd flushes its receive queues when forwarding starts: send only after that. */
async function forwarding(pmd: Testpmd): Promise<void> {
  await expect.poll(() => pmd.started, { timeout: 30_000 }).toBe(true);
}

function socketPath(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path('memif.sock');
}

describe.skipIf(!TESTPMD)('memif interop with DPDK dpdk-testpmd (net_memif)', () => {
  test('testpmd as client connects to our server; frames pass both ways and both sides count them', async () => {
    const socket = socketPath();
    const srv = closer.add(createMemifServer({ socket, interfaces: [{ id: 0, name: 'nsm0' }] }));
    const s = srv.interface(0);
    const pmd = new Testpmd({ role: 'client', socket, forwardMode: 'macswap', prefix: prefix() });
    pmds.push(pmd);
    const up = await s.waitUp(AbortSignal.timeout(30_000));
    expect(up.peerName).toMatch(/DPDK/);
    expect(up.peerInterface).toBe('net_memif0');
    await forwarding(pmd);
    const back = await exchange(s, 20_000, 64);
    expect(back.every(isSwapped)).toBe(true);
    await mixedChains(s); // ours into testpmd's buffers, and back
    const ours = s.stats();
    const theirs = await pmds.pop()!.stop();
    expect(theirs.rxPackets).toBe(ours.txFrames);
    expect(theirs.txPackets).toBe(ours.rxFrames);
    expect(ours.rxFrames).toBe(22_000);
    await expect.poll(() => s.up).toBe(false);
  }, 60_000);

  test('our client connects to testpmd as server; frames pass both ways, also chained ones', async () => {
    const socket = socketPath();
    const pmd = new Testpmd({ role: 'server', socket, forwardMode: 'macswap', prefix: prefix() });
    pmds.push(pmd);
    await expect.poll(() => existsSync(socket), { timeout: 30_000 }).toBe(true);
    const c = closer.add(createMemifClient({ socket, name: 'nsm0', reconnectMs: 100 }));
    const up = await c.waitUp(AbortSignal.timeout(30_000));
    expect(up.peerName).toMatch(/DPDK/);
    await forwarding(pmd);
    const back = await exchange(c, 10_000, 64);
    expect(back.every(isSwapped)).toBe(true);
    // 3000 bytes: two of our 2048-byte buffers, two mbufs in testpmd, chained both ways.
    const big = await exchange(c, 200, 3000, 32);
    expect(big.every((f) => f.length === 3000 && isSwapped(f))).toBe(true);
    await mixedChains(c);
    const ours = c.stats();
    const theirs = await pmds.pop()!.stop();
    expect(theirs.rxPackets).toBe(ours.txFrames);
    expect(theirs.txPackets).toBe(ours.rxFrames);
    // testpmd leaving: our client sees the link go down and keeps trying to reconnect.
    await expect.poll(() => c.up).toBe(false);
  }, 60_000);

  test('abstract socket: testpmd (socket-abstract=yes) reaches our @name server', async () => {
    const socket = abstractName('dpdk');
    const srv = closer.add(createMemifServer({ socket, mode: 'polling' }));
    const s = srv.interface(0);
    const pmd = new Testpmd({ role: 'client', socket, forwardMode: 'macswap', prefix: prefix() });
    pmds.push(pmd);
    await s.waitUp(AbortSignal.timeout(30_000));
    await forwarding(pmd);
    const back = await exchange(s, 5000, 1500);
    expect(back.every((f) => f.length === 1500 && isSwapped(f))).toBe(true);
  }, 60_000);
});

import { afterEach, describe, expect, test } from 'vitest';

import { createMemifClient, createMemifServer, type MemifServer } from './index.js';
import { abstractName, Closer, frame } from './testing/names.js';

const closer = new Closer();
afterEach(() => closer.closeAll());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('memif under churn', () => {
  test('traffic both ways while the server goes away and comes back again and again', async () => {
    const socket = abstractName('churn');
    const cli = closer.add(createMemifClient({ socket, reconnectMs: 10, ringSize: 128 }));
    let back = 0;
    cli.on('frames', (f) => (back += f.length));
    let srv: MemifServer | undefined;
    let stop = false;
    // The client sends all along: into a ring that is being torn down, or to no one.
    const sender = (async () => {
      const batch = [frame(64, 1), frame(5000, 2), frame(1500, 3)];
      while (!stop) {
        cli.send(batch);
        await sleep(0);
      }
    })();
    try {
      for (let round = 0; round < 15; round++) {
        srv = createMemifServer({ socket });
        const s = srv.interface(0);
        s.on('frames', (f) => s.send(f)); // reflect, also while closing
        await Promise.all([cli.waitUp(AbortSignal.timeout(5000)), s.waitUp(AbortSignal.timeout(5000))]);
        await sleep(20);
        srv.close();
        srv = undefined;
        await expect.poll(() => cli.up).toBe(false);
      }
    } finally {
      stop = true;
      await sender;
      srv?.close();
    }
    expect(back).toBeGreaterThan(0);
    expect(cli.stats()).toMatchObject({ connects: 15, disconnects: 15, rxErrors: 0 });
  }, 60_000);

  test('clients come and go while the server transmits', async () => {
    const socket = abstractName('churn2');
    const srv = closer.add(createMemifServer({ socket }));
    const s = srv.interface(0);
    let stop = false;
    const sender = (async () => {
      while (!stop) {
        s.send([frame(2000, 1), frame(64, 2)]);
        await sleep(0);
      }
    })();
    try {
      for (let round = 0; round < 15; round++) {
        const c = createMemifClient({ socket, reconnectMs: 10 });
        let got = 0;
        c.on('frames', (f) => (got += f.length));
        try {
          await c.waitUp(AbortSignal.timeout(5000));
          await expect.poll(() => got).toBeGreaterThan(0);
        } finally {
          c.close();
        }
        await expect.poll(() => s.up).toBe(false);
      }
    } finally {
      stop = true;
      await sender;
    }
    expect(s.stats()).toMatchObject({ connects: 15, disconnects: 15, rxErrors: 0, txErrors: 0 });
  }, 60_000);
});

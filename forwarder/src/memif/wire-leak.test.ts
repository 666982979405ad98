import { readdirSync } from 'node:fs';

import { afterEach, describe, expect, test } from 'vitest';

import { isRoot } from '@nsm-ts/sdk/testing';

import { NamespaceFixture } from '../kernel/testing/netns-fixture.js';
import { createMemifBridge, createMemifClient, createMemifProxy, createMemifServer } from './index.js';
import { abstractName, frame, tempDir } from './testing/names.js';
import { resources } from './testing/resources.js';

const fx = new NamespaceFixture();
afterEach(() => fx.cleanup());

/** One proxied session: up, frames both ways, then the ends close in an order that varies. */
async function proxyCycle(listen: string, i: number): Promise<void> {
  const ep = abstractName('leak-ep');
  const srv = createMemifServer({ socket: ep });
  const proxy = createMemifProxy({ listen: { socket: listen }, connect: { socket: ep } });
  const cli = createMemifClient({ socket: listen, reconnectMs: 10, ringSize: 64 });
  try {
    const s = srv.interface(0);
    await Promise.all([cli.waitUp(), s.waitUp()]);
    const got: Buffer[] = [];
    s.on('frames', (f) => got.push(...f));
    cli.on('frames', (f) => got.push(...f));
    cli.send([frame(64, i), frame(3000, i)]);
    s.send([frame(100, i)]);
    await expect.poll(() => got.length).toBe(3);
    if (i % 3 === 0) srv.close(); // the endpoint leaves first: the proxy ends the session
    if (i % 3 === 1) cli.close(); // the client leaves first
    if (i % 3 !== 2) await expect.poll(() => proxy.stats().active).toBe(false);
  } finally {
    cli.close();
    proxy.close();
    srv.close();
  }
}

async function bridgeCycle(ns: string, i: number): Promise<void> {
  const socket = abstractName('leak-bridge');
  const bridge = createMemifBridge({
    memif: i % 2 ? { role: 'server', socket } : { role: 'client', socket, reconnectMs: 10 },
    kernel: { ifname: 'lo', netns: ns },
  });
  const peer =
    i % 2 ? createMemifClient({ socket, reconnectMs: 10, ringSize: 64 }) : createMemifServer({ socket });
  try {
    const iface = 'interface' in peer ? peer.interface(0) : peer;
    await Promise.all([bridge.waitUp(), iface.waitUp()]);
    iface.send([frame(64, i)]);
    // On lo what we send comes back in: the frame may go round more than once.
    await expect.poll(() => bridge.stats().toKernel.frames).toBeGreaterThanOrEqual(1);
  } finally {
    peer.close();
    bridge.close();
  }
}

describe('memif proxy and bridge resources', () => {
  test('proxy cycles leave no descriptor, mapping, memfd, eventfd, socket file or thread behind', async () => {
    const d = tempDir();
    try {
      for (let i = 0; i < 6; i++) await proxyCycle(abstractName('warm'), i);
      const before = resources();
      for (let i = 0; i < 90; i++) await proxyCycle(i % 2 ? abstractName('leak') : d.path(`p${i}.sock`), i);
      const after = resources();
      expect(readdirSync(d.dir)).toEqual([]);
      expect({ ...after, maps: 0 }).toEqual({ ...before, maps: 0 });
      expect(after['maps']! - before['maps']!).toBeLessThan(40);
    } finally {
      d.remove();
    }
  }, 120_000);

  test.skipIf(!isRoot)(
    'bridge cycles (root) leave nothing behind either',
    async () => {
      const ns = fx.add('lk');
      for (let i = 0; i < 4; i++) await bridgeCycle(ns.path, i);
      const before = resources();
      for (let i = 0; i < 60; i++) await bridgeCycle(ns.path, i);
      const after = resources();
      expect({ ...after, maps: 0 }).toEqual({ ...before, maps: 0 });
      expect(after['maps']! - before['maps']!).toBeLessThan(40);
    },
    120_000,
  );
});

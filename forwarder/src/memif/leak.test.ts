import { readdirSync } from 'node:fs';

import { describe, expect, test } from 'vitest';

import { createMemifClient, createMemifServer } from './index.js';
import { abstractName, frame, tempDir } from './testing/names.js';
import { resources } from './testing/resources.js';

async function cycle(socket: string, i: number): Promise<void> {
  const srv = createMemifServer({ socket, interfaces: [{ id: 0 }, { id: 1 }] });
  const cli = createMemifClient({ socket, id: i % 2, reconnectMs: 10, ringSize: 64 });
  try {
    const s = srv.interface(i % 2);
    await Promise.all([cli.waitUp(), s.waitUp()]);
    const got: Buffer[] = [];
    s.on('frames', (f) => got.push(...f));
    cli.send([frame(64, i), frame(3000, i)]);
    s.send([frame(100, i)]);
    await expect.poll(() => got.length).toBe(2);
    if (i % 3 === 0) {
      // The server goes first: the client sees it leave and tries again until closed.
      srv.close();
      await expect.poll(() => cli.up).toBe(false);
    }
  } finally {
    cli.close();
    srv.close();
  }
}

describe('memif resources', () => {
  test('open/close cycles leave no descriptor, mapping, memfd, eventfd, socket file or thread behind', async () => {
    const d = tempDir();
    try {
      for (let i = 0; i < 10; i++) await cycle(abstractName('warm'), i); // warm the JS heap and the addon
      const before = resources();
      // The counts do see an open link: both sides map the region and hold its memfd.
      const socket = abstractName('seen');
      const srv = createMemifServer({ socket });
      const cli = createMemifClient({ socket, reconnectMs: 10 });
      await Promise.all([cli.waitUp(), srv.interface(0).waitUp()]);
      const open = resources();
      cli.close();
      srv.close();
      expect(open['memfds']! - before['memfds']!).toBe(2);
      expect(open['memifMaps']).toBe(2);
      expect(open['eventfds']! - before['eventfds']!).toBe(6); // two rings on each side, one wake-up per engine
      expect(open['threads']! - before['threads']!).toBe(2);
      for (let i = 0; i < 150; i++) await cycle(i % 2 ? abstractName('leak') : d.path(`s${i}.sock`), i);
      const after = resources();
      expect(readdirSync(d.dir)).toEqual([]); // every socket file removed
      expect({ ...after, maps: 0 }).toEqual({ ...before, maps: 0 });
      expect(after['memifMaps']).toBe(0);
      // The JS heap may map a few more pages; 150 leaked regions would be 150+ lines.
      expect(after['maps']! - before['maps']!).toBeLessThan(40);
    } finally {
      d.remove();
    }
  }, 120_000);
});

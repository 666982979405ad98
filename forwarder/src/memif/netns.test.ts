import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';

import { afterEach, describe, expect, test } from 'vitest';

import { createMemifClient, createMemifServer } from './index.js';
import { abstractName, Closer, frame } from './testing/names.js';

const closer = new Closer();
const children: ChildProcess[] = [];
afterEach(() => {
  try {
    closer.closeAll();
  } finally {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  }
});

/** A fresh network namespace held open by a sleeping child; its namespace file. */
async function namespace(): Promise<string> {
  const child = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
  children.push(child);
  const path = `/proc/${child.pid}/ns/net`;
  // The file exists at once; the namespace is the new one once unshare has exec'd sleep.
  await expect.poll(() => existsSync(path) && readlink(path) !== readlink('/proc/self/ns/net')).toBe(true);
  return path;
}

function readlink(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
}

const root = process.getuid?.() === 0 && ['/usr/bin/unshare', '/bin/unshare'].some(existsSync);

describe.skipIf(!root)('memif in another network namespace (needs root and unshare)', () => {
  test('an abstract socket opened in a namespace is reached from that namespace only', async () => {
    const ns = await namespace();
    const socket = abstractName('netns');
    const srv = closer.add(createMemifServer({ socket, netns: ns }));
    // From our own namespace the abstract name does not exist: the client keeps trying.
    const outside = closer.add(createMemifClient({ socket, reconnectMs: 20 }));
    const inside = closer.add(createMemifClient({ socket, reconnectMs: 20, netns: ns, id: 0 }));
    await inside.waitUp(AbortSignal.timeout(5000));
    const got: Buffer[] = [];
    srv.interface(0).on('frames', (f) => got.push(...f));
    inside.send([frame(100, 1)]);
    await expect.poll(() => got.length).toBe(1);
    expect(outside.up).toBe(false);
    expect(outside.stats().connects).toBe(0);
  });

  test('a namespace path that does not exist is refused with NOT_FOUND', () => {
    expect(() => createMemifServer({ socket: abstractName('nons'), netns: '/proc/0/ns/net' })).toThrow(
      expect.objectContaining({
        code: 5,
        message: expect.stringMatching(/open\(\/proc\/0\/ns\/net\) failed/) as unknown,
      }),
    );
  });
});

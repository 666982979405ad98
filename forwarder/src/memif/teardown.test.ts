/**
 * A process or a Worker that ends with memif handles still open (engine pair, proxy, bridge) must
 * end cleanly: the engine threads stopped and joined, their descriptors and socket files gone, the
 * thread-safe functions released before Node frees them, and nothing left running. The handles are
 * opened in child processes, from the built package, so that a crash cannot take the test runner
 * (and the namespace it must delete) with it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, test } from 'vitest';

import { isRoot } from '@nsm-ts/sdk/testing';

import { NamespaceFixture } from '../kernel/testing/netns-fixture.js';

const built = join(import.meta.dirname, '..', '..', 'dist', 'memif', 'index.js');

/**
 * Opens a server and client on a path socket, a client reaching a server through a proxy and,
 * given a namespace, a bridge to its lo with a client; frames keep flowing both ways on all of
 * them. Then, as `how` says: `exit` calls process.exit(0), `wait` says "up" and waits to be ended,
 * `close` closes everything and returns (the warm-up). Parameters: workerData, or argv[2] as JSON.
 */
const OPEN = `
import { parentPort, workerData } from 'node:worker_threads';
const o = workerData ?? JSON.parse(process.argv[2]);
const m = await import(o.built);
const tag = '@nsm-memif-teardown/' + process.pid + '/' + o.tag;
const pairs = [];
const srv = m.createMemifServer({ socket: o.dir + '/' + o.tag + '.sock' });
pairs.push([srv.interface(0), m.createMemifClient({ socket: srv.socket, reconnectMs: 10 })]);
const ep = m.createMemifServer({ socket: tag + '/ep' });
const proxy = m.createMemifProxy({ listen: { socket: tag + '/px' }, connect: { socket: ep.socket } });
pairs.push([ep.interface(0), m.createMemifClient({ socket: tag + '/px', reconnectMs: 10 })]);
const bridged = [];
if (o.netns) {
  const socket = tag + '/br';
  bridged.push(m.createMemifBridge({ memif: { role: 'server', socket }, kernel: { ifname: 'lo', netns: o.netns } }));
  bridged.push(m.createMemifClient({ socket, reconnectMs: 10 }));
}
const ends = [...pairs.flat(), ...bridged];
await Promise.all(ends.map((e) => e.waitUp(AbortSignal.timeout(10000))));
const frame = Buffer.alloc(3000, 7); // chained: two buffers
for (const [a, b] of pairs) {
  a.on('frames', () => {});
  b.on('frames', () => {});
}
const timer = setInterval(() => {
  for (const [a, b] of pairs) {
    a.send([frame, frame]);
    b.send([frame]);
  }
  if (bridged.length) bridged[1].send([frame.subarray(0, 100)]);
}, 1);
await new Promise((r) => setTimeout(r, 30));
if (o.how === 'exit') process.exit(0);
if (o.how === 'close') {
  clearInterval(timer);
  for (const e of [proxy, srv, ep, ...pairs.map((p) => p[1]), ...bridged]) e.close();
} else if (parentPort) {
  parentPort.postMessage('up');
} else {
  console.log('up');
}
`;

/**
 * Runs Workers that open everything with OPEN, one after the other: a warm-up that closes what it
 * opened, then, alternately, one that calls process.exit(0) and one that the main thread
 * terminates, both with everything open. Prints the exit codes and the threads and descriptors of
 * this process before and after, once its threads are back (or after 10 s).
 */
const MAIN = `
import { readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
const [open, built, dir, netns, count] = process.argv.slice(2);
const threads = () => readdirSync('/proc/self/task').length;
const fds = () => readdirSync('/proc/self/fd').length;
function run(tag, how) {
  const w = new Worker(open, { workerData: { built, dir, netns, tag, how } });
  w.on('message', () => w.terminate());
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', resolve);
  });
}
await run('warm', 'close');
const before = { threads: threads(), fds: fds() };
const codes = [];
for (let i = 0; i < Number(count); i++) codes.push(await run('w' + i, i % 2 ? 'wait' : 'exit'));
for (let t = 0; t < 100 && threads() > before.threads; t++) await new Promise((r) => setTimeout(r, 100));
console.log(JSON.stringify({ codes, before, after: { threads: threads(), fds: fds() } }));
`;

/** Runs `node args...`; resolves with its exit code or signal, stdout, stderr and how long it took. */
function node(
  args: string[],
  kill: { close(): void }[],
): Promise<{ code: number | null; signal: string | null; out: string; err: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  kill.push({ close: () => child.kill('SIGKILL') });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, out, err, ms: Date.now() - started })),
  );
}

describe('memif handles left open when a process or a Worker ends', () => {
  const fx = new NamespaceFixture();
  const kills: { close(): void }[] = [];
  let dir: string | undefined;
  afterEach(() => {
    try {
      for (const k of kills.splice(0)) k.close();
    } finally {
      try {
        if (dir) rmSync(dir, { recursive: true, force: true });
        dir = undefined;
      } finally {
        fx.cleanup();
      }
    }
  });

  /** The scripts in a fresh directory, which the socket files share; and the bridge's namespace as root. */
  function setUp(): { open: string; main: string; sockets: string; netns: string } {
    dir = mkdtempSync(join(tmpdir(), 'nsm-memif-teardown-'));
    const sockets = join(dir, 'sockets');
    mkdirSync(sockets);
    writeFileSync(join(dir, 'open.mjs'), OPEN);
    writeFileSync(join(dir, 'main.mjs'), MAIN);
    const netns = isRoot ? fx.add('td').path : '';
    return { open: join(dir, 'open.mjs'), main: join(dir, 'main.mjs'), sockets, netns };
  }

  // Node runs no cleanup hooks on the main thread's process.exit(): the kernel ends the threads and
  // closes the descriptors; a path socket file stays, and the next server there replaces it.
  test('process.exit(0) with a pair, a proxy and a bridge open and frames flowing: exit code 0, at once', async () => {
    const s = setUp();
    for (let i = 0; i < 3; i++) {
      const params = { built, dir: s.sockets, netns: s.netns, tag: `p${i}`, how: 'exit' };
      const r = await node([s.open, JSON.stringify(params)], kills);
      expect({ code: r.code, signal: r.signal, err: r.err }).toEqual({ code: 0, signal: null, err: '' });
      expect(r.ms).toBeLessThan(10_000);
    }
  }, 60_000);

  test('Workers ending with everything open (process.exit, terminate): the process lives on, its threads and descriptors come back, socket files go', async () => {
    const s = setUp();
    const r = await node([s.main, s.open, built, s.sockets, s.netns, '6'], kills);
    expect({ code: r.code, signal: r.signal, err: r.err }).toEqual({ code: 0, signal: null, err: '' });
    const got = JSON.parse(r.out.trim().split('\n').pop()!) as {
      codes: number[];
      before: { threads: number; fds: number };
      after: { threads: number; fds: number };
    };
    expect(got.codes).toEqual([0, 1, 0, 1, 0, 1]); // terminate() ends a Worker with code 1
    expect(got.after).toEqual(got.before);
    expect(readdirSync(s.sockets)).toEqual([]);
  }, 60_000);
});

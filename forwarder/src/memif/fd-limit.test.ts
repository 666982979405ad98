/**
 * A memif server out of file descriptors (EMFILE) sheds the connections it cannot take instead of
 * waking for ever on its listening socket, and serves again once descriptors are free. The server
 * runs in a child process with a small descriptor limit (`prlimit`), from the built package.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemifClient } from './index.js';
import { abstractName, Closer } from './testing/names.js';

const built = join(import.meta.dirname, '..', '..', 'dist', 'memif', 'index.js');
const prlimit = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));

/** The child: a server; on "fill" it opens descriptors until EMFILE, on "free" it closes them. */
const CHILD = `
import { openSync, closeSync } from 'node:fs';
import { createInterface } from 'node:readline';
const { createMemifServer } = await import(process.argv[2]);
const server = createMemifServer({ socket: process.argv[3] });
server.interface(0).on('up', () => console.log('up'));
const held = [];
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'fill') {
    try { for (;;) held.push(openSync('/dev/null', 'r')); } catch { console.log('full ' + held.length); }
  } else if (line === 'free') {
    for (const fd of held.splice(0)) closeSync(fd);
    console.log('freed');
  }
}
server.close();
`;

/** CPU ticks of the memif engine threads of process `pid` (the child cannot read /proc while full). */
function engineTicks(pid: number): number {
  let ticks = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() !== 'memif-engine') continue;
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      continue;
    }
  }
  return ticks;
}

describe.skipIf(!prlimit)('memif server out of file descriptors', () => {
  const closer = new Closer();
  let dir: string | undefined;
  afterEach(() => {
    closer.closeAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sheds connections it cannot take without spinning, and serves once descriptors are free', async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-memif-fd-'));
    const script = join(dir, 'child.mjs');
    writeFileSync(script, CHILD);
    const socket = abstractName('fdlimit');
    const child = spawn(prlimit!, ['--nofile=256', process.execPath, script, built, socket], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    closer.add({ close: () => child.kill('SIGKILL') });
    const lines: string[] = [];
    child.stdout.on('data', (c: Buffer) => lines.push(...c.toString().trim().split('\n')));
    const said = (prefix: string) =>
      expect.poll(() => lines.find((l) => l.startsWith(prefix)), { timeout: 10_000 }).toBeDefined();
    const ask = async (command: string, prefix: string): Promise<string> => {
      lines.length = 0;
      child.stdin.write(`${command}\n`);
      await said(prefix);
      return lines.find((l) => l.startsWith(prefix))!;
    };
    await said('ready');
    await ask('fill', 'full');
    const client = closer.add(createMemifClient({ socket, reconnectMs: 50 }));
    // The client keeps knocking; the server cannot take it. Its engine must stay nearly idle.
    const before = engineTicks(child.pid!);
    await new Promise((r) => setTimeout(r, 1000));
    const after = engineTicks(child.pid!);
    expect(after - before, 'engine CPU ticks in 1 s while out of descriptors').toBeLessThan(30);
    expect(client.up).toBe(false);
    await ask('free', 'freed');
    await client.waitUp(AbortSignal.timeout(5000));
    expect(client.up).toBe(true);
  });
});

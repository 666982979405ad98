import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'bad_peer.py');
const run = promisify(execFile);

/** What the other side answered, as bad_peer.py saw it (its DISCONNECT reason, if any). */
export interface PeerReply {
  type?: string | number;
  reason?: string;
  code?: number;
  len?: number;
  /** rewrite_s2c: the chains it read off the S2C ring, how many were not two buffers (BUF, 100 bytes). */
  chains?: number;
  bad?: number;
  first_bad?: number[] | null;
}

/** Whether python3 (3.10+, for os.eventfd) is there to play the bad peer. */
export function hasPython(): boolean {
  return (
    ['/usr/bin/python3', '/usr/local/bin/python3'].some(existsSync) ||
    !!process.env['PATH']?.includes('python')
  );
}

/**
 * Runs a bad client against our server at `address`; resolves with the server's last reply (or
 * what the scenario reports). `signal` ends it early.
 */
export async function badClient(
  address: string,
  scenario: string,
  signal?: AbortSignal,
): Promise<PeerReply | null> {
  const { stdout } = await run('python3', [SCRIPT, 'client', address, scenario], {
    timeout: 15_000,
    ...(signal ? { signal } : {}),
  });
  return (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { reply: PeerReply | null }).reply;
}

/** Holds `count` handshakes open at our server, then opens one more; resolves with what that one got. */
export async function floodServer(address: string, count: number): Promise<PeerReply | null> {
  const { stdout } = await run('python3', [SCRIPT, 'flood', address, String(count)], { timeout: 15_000 });
  return (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { reply: PeerReply | null }).reply;
}

/** Fuzzes our server at `address` with `count` connections of random and mutated messages. */
export async function fuzzServer(
  address: string,
  count: number,
  seed: number,
): Promise<{ iterations: number; replies: Record<string, number> }> {
  const { stdout } = await run('python3', [SCRIPT, 'fuzz', address, String(count), String(seed)], {
    timeout: 120_000,
    maxBuffer: 1 << 20,
  });
  return (JSON.parse(stdout) as { reply: { iterations: number; replies: Record<string, number> } }).reply;
}

/**
 * Starts a bad server at `address`; `listening` resolves once it accepts connections and
 * `reply` with what our client sent back. `kill` ends it (tests call it in afterEach).
 */
export function badServer(
  address: string,
  scenario: string,
): { listening: Promise<void>; reply: Promise<PeerReply | null>; kill(): void } {
  const child = spawn('python3', [SCRIPT, 'server', address, scenario], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let onListening: () => void = () => undefined;
  const listening = new Promise<void>((resolve) => (onListening = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('"listening"')) onListening();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const reply = new Promise<PeerReply | null>((resolve, reject) => {
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.includes('"reply"'))
        return reject(new Error(`bad_peer.py exited ${code}: ${err}`));
      resolve((JSON.parse(last) as { reply: PeerReply | null }).reply);
    });
  });
  reply.catch(() => undefined);
  return { listening, reply, kill: () => child.kill('SIGKILL') };
}

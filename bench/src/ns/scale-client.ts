#!/usr/bin/env node
/**
 * The client pod of the scale benchmark (run inside a pod namespace by `scale.ts`): makes
 * BENCH_COUNT KERNEL connections one after another (interfaces `nsm-<i>`) through the node's manager
 * with the SDK's `createClient`, timing each request. Talks JSON lines on stdout; at each checkpoint
 * (BENCH_CHECKPOINTS, e.g. `10,100,500`) and before closing everything it waits for a line on stdin,
 * so the benchmark can read the daemons' memory while nothing is in flight.
 *
 *   env: NSM_CONNECT_TO, POD_NAME, NSM_IDENTITY_DIR, BENCH_SERVICE, BENCH_COUNT, BENCH_CHECKPOINTS, BENCH_WARMUP
 */
import { createInterface } from 'node:readline';
import type { Connection } from '@nsm-ts/sdk/api';
import { createClient } from '@nsm-ts/sdk';
import { fileIdentity } from '@nsm-ts/sdk/security';

const env = process.env;
const count = Number(env['BENCH_COUNT'] ?? 10);
const warmup = Number(env['BENCH_WARMUP'] ?? 3);
const checkpoints = new Set((env['BENCH_CHECKPOINTS'] ?? '').split(',').filter(Boolean).map(Number));
const service = env['BENCH_SERVICE'] ?? 'scale';

const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const waitGo = async (): Promise<void> => {
  const next = await input.next();
  if (next.done) process.exit(3); // the benchmark went away
};
const say = (msg: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(msg) + '\n');
};
const elapsed = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const identity = env['NSM_IDENTITY_DIR'] ? await fileIdentity({ dir: env['NSM_IDENTITY_DIR'] }) : undefined;
const client = createClient({ name: env['POD_NAME'] ?? 'bench-nsc', ...(identity ? { identity } : {}) });
const request = (ifname: string): Promise<Connection> =>
  client.request({
    networkService: service,
    mechanisms: ['KERNEL'],
    interfaceName: ifname,
    timeoutMs: 30_000,
  });

// Warm-up: the first dial, registry lookup and JIT are one-time costs, not per-connection ones.
for (let i = 0; i < warmup; i++) {
  const start = process.hrtime.bigint();
  try {
    await client.close(await request(`nsm-w${i}`));
    say({ warmup: i + 1, ms: elapsed(start) });
  } catch (err) {
    say({ warmup: i + 1, error: errorText(err) });
  }
}
say({ ready: true });
await waitGo();

const open: Connection[] = [];
for (let n = 1; n <= count; n++) {
  const start = process.hrtime.bigint();
  try {
    const conn = await request(`nsm-${n - 1}`);
    open.push(conn);
    say({ n, ms: elapsed(start), dst: conn.context?.ip_context?.dst_ip_addrs[0] ?? '' });
  } catch (err) {
    say({ n, ms: elapsed(start), error: errorText(err) });
  }
  if (checkpoints.has(n)) {
    say({ checkpoint: n });
    await waitGo();
  }
}

say({ closing: open.length });
await waitGo();
const start = process.hrtime.bigint();
let failedCloses = 0;
for (const conn of open) await client.close(conn).catch(() => failedCloses++);
say({ closed: open.length, ms: elapsed(start), failed: failedCloses });
await client.shutdown();
process.exit(0);

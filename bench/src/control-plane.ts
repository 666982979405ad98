/**
 * Benchmarks 1 and 2 of performance.md: control-plane connect (NOOP) through real managers and
 * forwarders, local (NSC → manager → forwarder → NSE over unix sockets) and remote (6 hops, loopback
 * TCP between nodes), against the transport floor: plain grpc-js unary round trips (health checks) on
 * the same sockets, measured in the same run.
 */
import { pathToFileURL } from 'node:url';
import { createContext } from '../../sdk/src/core/context.js';
import { ClientPool } from '../../sdk/src/grpc/client.js';
import { createMesh, type Mesh } from '../../test/harness/mesh.js';
import { registerService } from '../../test/harness/services.js';
import { percentile, saveResult, toMarkdown, type BenchResult, type BenchRow } from './result.js';

const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 400);
const WARMUP = 40;

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Latency of `n` sequential round trips over the given URLs (health checks), per sample. */
async function floor(urls: string[], pool: ClientPool): Promise<number[]> {
  const ctx = createContext();
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const ms = await timeIt(async () => {
      for (const url of urls) await pool.get(url).health(ctx);
    });
    if (i >= WARMUP) samples.push(ms);
  }
  return samples;
}

async function connects(mesh: Mesh, node: number): Promise<{ latency: number[]; perSecond: number }> {
  const client = mesh.client(node, { name: 'bench-nsc' });
  const latency: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    let conn: Awaited<ReturnType<typeof client.request>> | undefined;
    const ms = await timeIt(async () => {
      conn = await client.request({ networkService: 'bench', mechanisms: ['NOOP'] });
    });
    await client.close(conn!);
    if (i >= WARMUP) latency.push(ms);
  }
  // Sustained rate: 16 workers connecting and closing for 3 s.
  const until = Date.now() + 3000;
  let done = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < until) {
        const conn = await client.request({ networkService: 'bench', mechanisms: ['NOOP'] });
        done++;
        await client.close(conn);
      }
    }),
  );
  await client.shutdown();
  return { latency, perSecond: done / 3 };
}

function rows(kind: string, latency: number[], base: number[], hops: number, rate?: number): BenchRow[] {
  const p50 = percentile(latency, 50);
  const floor50 = percentile(base, 50);
  const out: BenchRow[] = [
    {
      metric: `${kind} connect p50`,
      value: p50,
      unit: 'ms',
      baseline: floor50,
      ratio: p50 / floor50,
      bar: '≤ 4× floor',
      pass: p50 <= 4 * floor50,
    },
    {
      metric: `${kind} connect p99`,
      value: percentile(latency, 99),
      unit: 'ms',
      baseline: percentile(base, 99),
      ratio: percentile(latency, 99) / percentile(base, 99),
    },
    { metric: `${kind} floor: ${hops} plain unary round trips, p50`, value: floor50, unit: 'ms' },
  ];
  if (rate !== undefined)
    out.push({
      metric: `${kind} sustained connect+close (16 in flight)`,
      value: rate,
      unit: '/s',
      bar: '≥ 300/s',
      pass: rate >= 300,
    });
  return out;
}

/** Runs benchmarks 1 and 2. */
export async function controlPlaneBench(): Promise<BenchResult> {
  const mesh = await createMesh({ nodes: 2 });
  const pool = new ClientPool();
  try {
    await registerService(mesh, { name: 'bench', payload: 'ETHERNET' });
    const local = await mesh.endpoint(1, {
      name: 'bench-nse-1',
      serviceNames: ['bench'],
      labels: { where: 'local' },
      cidrPrefix: '10.80.0.0/16',
    });
    const n1 = mesh.node(1);
    const n2 = mesh.node(2);
    const localFloor = await floor([n1.managerUrl, n1.forwarderUrl, local.url, n1.managerUrl], pool);
    const localRun = await connects(mesh, 1);
    await local.close();
    const remote = await mesh.endpoint(2, {
      name: 'bench-nse-2',
      serviceNames: ['bench'],
      labels: { where: 'remote' },
      cidrPrefix: '10.81.0.0/16',
    });
    const remoteFloor = await floor(
      [n1.managerUrl, n1.forwarderUrl, n2.managerTcpUrl, n2.forwarderUrl, remote.url, n1.managerUrl],
      pool,
    );
    const remoteRun = await connects(mesh, 1);
    return {
      name: 'Control-plane connect (benchmarks 1 and 2)',
      rows: [
        ...rows('local', localRun.latency, localFloor, 4, localRun.perSecond),
        ...rows('remote', remoteRun.latency, remoteFloor, 6, remoteRun.perSecond),
      ],
      notes: [
        `${SAMPLES} sequential samples after ${WARMUP} warm-up; NOOP mechanism; one process; floor = health-check round trips on the same sockets.`,
      ],
    };
  } finally {
    pool.close();
    await mesh.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await controlPlaneBench();
  saveResult('control-plane', result);
  process.stdout.write(toMarkdown(result));
}

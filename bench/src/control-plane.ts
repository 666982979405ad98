/**
 * Benchmarks 1 and 2 of docs/performance.md: control-plane connect (NOOP) through real managers and
 * forwarders, local (NSC → manager → forwarder → NSE over unix sockets) and remote (6 hops, loopback
 * TCP between nodes), against the transport floor: plain grpc-js unary round trips (health checks) on
 * the same sockets, measured in the same run.
 */
import { pathToFileURL } from 'node:url';
import { createContext } from '@nsm-ts/sdk/core';
import { ClientPool } from '@nsm-ts/sdk/grpc';
import { createMesh, type Mesh } from './mesh/mesh.js';
import { registerService } from './mesh/services.js';
import { connectRows, saveResult, toMarkdown, type BenchResult } from './result.js';

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
        ...connectRows('local', 4, {
          latency: localRun.latency,
          floor: localFloor,
          rate: localRun.perSecond,
        }),
        ...connectRows('remote', 6, {
          latency: remoteRun.latency,
          floor: remoteFloor,
          rate: remoteRun.perSecond,
        }),
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

/**
 * Benchmarks 1 and 2 of docs/performance.md: control-plane connect (NOOP) through real managers and
 * forwarders, local (NSC → manager → forwarder → NSE over unix sockets) and remote (6 hops, loopback
 * TCP between nodes), against the transport floor: plain grpc-js unary round trips (health checks) on
 * the same sockets, measured in the same run. The mesh is secured as shipped (mTLS, tokens, policies);
 * so is the floor's transport. Benchmark 9 (security.ts) runs the same connects with security off.
 */
import { pathToFileURL } from 'node:url';
import { createContext } from '@nsm-ts/sdk/core';
import type { MeshClient } from '@nsm-ts/sdk/grpc';
import { createMesh, type Mesh } from './mesh/mesh.js';
import { registerService } from './mesh/services.js';
import { connectRows, saveResult, toMarkdown, type BenchResult } from './result.js';

export const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 400);
export const WARMUP = 40;

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Latency of sequential round trips over the given URLs (health checks, with the mesh's transport), per sample. */
export async function floor(mesh: Mesh, urls: string[], samples = SAMPLES): Promise<number[]> {
  const ctx = createContext();
  const clients = new Map<string, MeshClient>();
  const client = (url: string): MeshClient => {
    let c = clients.get(url);
    if (!c) clients.set(url, (c = mesh.dial(url)));
    return c;
  };
  const out: number[] = [];
  try {
    for (let i = 0; i < WARMUP + samples; i++) {
      const ms = await timeIt(async () => {
        for (const url of urls) await client(url).health(ctx);
      });
      if (i >= WARMUP) out.push(ms);
    }
  } finally {
    for (const c of clients.values()) c.close();
  }
  return out;
}

/** Sequential connect latencies of a client on `node` (each connection closed before the next). */
export async function connectLatency(mesh: Mesh, node: number, samples = SAMPLES): Promise<number[]> {
  const client = mesh.client(node, { name: 'bench-nsc' });
  const latency: number[] = [];
  try {
    for (let i = 0; i < WARMUP + samples; i++) {
      let conn: Awaited<ReturnType<typeof client.request>> | undefined;
      const ms = await timeIt(async () => {
        conn = await client.request({ networkService: 'bench', mechanisms: ['NOOP'] });
      });
      await client.close(conn!);
      if (i >= WARMUP) latency.push(ms);
    }
  } finally {
    await client.shutdown();
  }
  return latency;
}

/** Sustained rate: 16 workers connecting and closing for 3 s. */
export async function connectRate(mesh: Mesh, node: number): Promise<number> {
  const client = mesh.client(node, { name: 'bench-nsc-rate' });
  const until = Date.now() + 3000;
  let done = 0;
  try {
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (Date.now() < until) {
          const conn = await client.request({ networkService: 'bench', mechanisms: ['NOOP'] });
          done++;
          await client.close(conn);
        }
      }),
    );
  } finally {
    await client.shutdown();
  }
  return done / 3;
}

/** A two-node mesh with the `bench` service; endpoints come and go per measurement. */
export async function benchMesh(secure: boolean): Promise<Mesh> {
  const mesh = await createMesh({ nodes: 2, secure });
  await registerService(mesh, { name: 'bench', payload: 'ETHERNET' });
  return mesh;
}

/** An endpoint of `bench` on `node`, closed by `use` when done. */
export async function withEndpoint<T>(
  mesh: Mesh,
  node: number,
  use: (url: string) => Promise<T>,
): Promise<T> {
  const nse = await mesh.endpoint(node, {
    name: `bench-nse-${node}`,
    serviceNames: ['bench'],
    cidrPrefix: node === 1 ? '10.80.0.0/16' : '10.81.0.0/16',
  });
  try {
    return await use(nse.url);
  } finally {
    await nse.close();
  }
}

/** Runs benchmarks 1 and 2. */
export async function controlPlaneBench(): Promise<BenchResult> {
  const mesh = await benchMesh(true);
  try {
    const n1 = mesh.node(1);
    const n2 = mesh.node(2);
    const local = await withEndpoint(mesh, 1, async (url) => ({
      floor: await floor(mesh, [n1.managerUrl, n1.forwarderUrl, url, n1.managerUrl]),
      latency: await connectLatency(mesh, 1),
      rate: await connectRate(mesh, 1),
    }));
    const remote = await withEndpoint(mesh, 2, async (url) => ({
      floor: await floor(mesh, [
        n1.managerUrl,
        n1.forwarderUrl,
        n2.managerTcpUrl,
        n2.forwarderUrl,
        url,
        n1.managerUrl,
      ]),
      latency: await connectLatency(mesh, 1),
      rate: await connectRate(mesh, 1),
    }));
    return {
      name: 'Control-plane connect (benchmarks 1 and 2)',
      rows: [...connectRows('local', 4, local), ...connectRows('remote', 6, remote)],
      notes: [
        `${SAMPLES} sequential samples after ${WARMUP} warm-up; NOOP mechanism; one process; mTLS, tokens and policies on (as shipped); floor = health-check round trips on the same (mTLS) channels.`,
      ],
    };
  } finally {
    await mesh.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await controlPlaneBench();
  saveResult('control-plane', result);
  process.stdout.write(toMarkdown(result));
}

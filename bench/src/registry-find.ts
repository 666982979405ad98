/**
 * Benchmark 5 of docs/performance.md: a registry holding 10 000 NSEs (100 services × 100 endpoints, labels
 * app=x0…x9). Find by service + labels, p50/p99, through the in-process registry chain and over real
 * gRPC on a unix socket; watch fan-out to 100 watchers (register → all 100 saw it). Baselines from the
 * same run: a linear scan of all records with the same matcher (what the service index saves) and an
 * empty gRPC Find (the transport floor).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lastValueFrom, toArray, type Subscription } from 'rxjs';
import { newEndpoint, toTimestamp } from '@nsm-ts/sdk/api';
import type { NetworkServiceEndpoint } from '@nsm-ts/sdk/api';
import { createContext } from '@nsm-ts/sdk/core';
import type { NseHandler } from '@nsm-ts/sdk/core';
import { dial, type MeshClient } from '@nsm-ts/sdk/grpc';
import { createServer } from '@nsm-ts/sdk/grpc';
import { createRegistryServer } from '@nsm-ts/sdk/registry';
import { matchNse } from '@nsm-ts/sdk/registry';
import { percentile, saveResult, toMarkdown, type BenchResult, type BenchRow } from './result.js';

const NSES = 10_000;
const SERVICES = 100;
const APPS = 10;
const FINDS = Number(process.env['BENCH_SAMPLES'] ?? 2000);
const WATCHERS = 100;
const FANOUTS = 300;
const WARMUP = 100;
const BAR_MS = 5;

const ctx = createContext();
const service = (i: number): string => `svc-${i % SERVICES}`;
const app = (i: number): string => `x${Math.floor(i / SERVICES) % APPS}`;
const record = (i: number): NetworkServiceEndpoint =>
  newEndpoint({
    name: `nse-${i}`,
    url: `tcp://10.0.${Math.floor(i / 250)}.${i % 250}:5001`,
    network_service_names: [service(i)],
    network_service_labels: { [service(i)]: { labels: { app: app(i), nodeName: `node-${i % 50}` } } },
  });
const query = (i: number): NetworkServiceEndpoint =>
  newEndpoint({
    network_service_names: [service(i)],
    network_service_labels: { [service(i)]: { labels: { app: app(i * 7) } } },
  });

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Latencies of `FINDS` sequential finds (after warm-up); checks each answers `expect` records. */
async function finds(
  run: (q: NetworkServiceEndpoint) => Promise<number>,
  expected: number,
  make = query,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < WARMUP + FINDS; i++) {
    const q = make(i);
    const start = process.hrtime.bigint();
    const count = await run(q);
    const took = ms(start);
    if (count !== expected) throw new Error(`find ${i} returned ${count} records, expected ${expected}`);
    if (i >= WARMUP) out.push(took);
  }
  return out;
}

const findVia =
  (handler: NseHandler) =>
  async (q: NetworkServiceEndpoint): Promise<number> =>
    (await lastValueFrom(handler.find(ctx, { network_service_endpoint: q, watch: false }).pipe(toArray())))
      .length;

/** Register → all watchers saw it, `FANOUTS` times; watchers watch service svc-0. */
async function fanout(watch: (i: number) => NseHandler, register: NseHandler): Promise<number[]> {
  let pending = 0;
  let done: (() => void) | undefined;
  const subs: Subscription[] = [];
  const q = { network_service_endpoint: newEndpoint({ network_service_names: [service(0)] }), watch: true };
  const perService = NSES / SERVICES;
  let ready = 0;
  // Each watcher first receives the current records of svc-0; measuring starts once all have them.
  const initialDone = new Promise<void>((resolve) => {
    for (let w = 0; w < WATCHERS; w++) {
      let seen = 0;
      subs.push(
        // A context per watcher, as each would be its own call (and its own abort listener).
        watch(w)
          .find(createContext(), q)
          .subscribe(() => {
            if (++seen === perService) {
              if (++ready === WATCHERS) resolve();
            } else if (seen > perService && --pending === 0) done?.();
          }),
      );
    }
  });
  await initialDone;
  const out: number[] = [];
  try {
    for (let i = 0; i < WARMUP + FANOUTS; i++) {
      const all = new Promise<void>((resolve) => (done = resolve));
      pending = WATCHERS;
      const start = process.hrtime.bigint();
      await register.register(ctx, { ...record(0), expiration_time: toTimestamp(Date.now() + 3_600_000) });
      await all;
      if (i >= WARMUP) out.push(ms(start));
    }
  } finally {
    for (const sub of subs) sub.unsubscribe();
  }
  return out;
}

function latencyRows(what: string, samples: number[], base?: number[]): BenchRow[] {
  return [50, 99].map((p) => {
    const value = percentile(samples, p);
    const row: BenchRow = { metric: `${what} p${p}`, value, unit: 'ms' };
    if (base) {
      row.baseline = percentile(base, p);
      row.ratio = value / row.baseline;
    }
    if (p === 99) Object.assign(row, { bar: `p99 ≤ ${BAR_MS} ms`, pass: value <= BAR_MS });
    return row;
  });
}

/** Runs benchmark 5. */
export async function registryFindBench(): Promise<BenchResult> {
  const load = loadavg()[0] ?? 0;
  const registry = createRegistryServer({ defaultLifetimeMs: 3_600_000 });
  const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-registry-'));
  const server = createServer();
  const clients: MeshClient[] = [];
  try {
    const loadStart = process.hrtime.bigint();
    for (let i = 0; i < NSES; i++) await registry.nse.register(ctx, record(i));
    const loadMs = ms(loadStart);
    const all: NetworkServiceEndpoint[] = Array.from({ length: NSES }, (_, i) => record(i));
    const perQuery = NSES / SERVICES / APPS;

    const inProcess = await finds(findVia(registry.nse), perQuery);
    const scan = await finds((q) => Promise.resolve(all.filter((r) => matchNse(q, r)).length), perQuery);

    server.serveEndpointRegistry(registry.nse);
    server.serveServiceRegistry(registry.ns);
    const [url] = (await server.listen([`unix://${join(dir, 'registry.sock')}`])) as [string];
    const client = dial(url);
    clients.push(client);
    const overGrpc = await finds(findVia(client.endpointRegistry), perQuery);
    const floor = await finds(findVia(client.endpointRegistry), 0, () =>
      newEndpoint({ name: 'no-such-nse' }),
    );

    const fanInProcess = await fanout(() => registry.nse, registry.nse);
    const watchers = Array.from({ length: WATCHERS }, () => dial(url));
    clients.push(...watchers);
    const fanGrpc = await fanout((w) => watchers[w]!.endpointRegistry, client.endpointRegistry);

    return {
      name: 'Registry find and watch, 10 000 NSEs (benchmark 5)',
      rows: [
        { metric: `load ${NSES} NSEs in process`, value: NSES / (loadMs / 1000), unit: 'registers/s' },
        ...latencyRows(`find service+labels (${perQuery} hits), in process`, inProcess, scan),
        ...latencyRows(`find service+labels (${perQuery} hits), gRPC unix socket`, overGrpc, floor),
        ...latencyRows(`watch fan-out to ${WATCHERS} watchers, in process`, fanInProcess),
        ...latencyRows(
          `watch fan-out to ${WATCHERS} watchers (${WATCHERS} channels), gRPC register + streams`,
          fanGrpc,
        ),
      ],
      notes: [
        `${FINDS} finds and ${FANOUTS} fan-outs after ${WARMUP} warm-up each, sequential, one process.`,
        `Watchers and registry share this process; load average ${load.toFixed(1)} on ${cpus().length} cores at start (p99 on a shared machine is mostly scheduling noise: compare with the baselines' p99).`,
        'Baselines: in-process find vs a linear scan of all 10 000 records with the same matcher; gRPC find vs an empty gRPC Find (transport floor).',
      ],
    };
  } finally {
    for (const client of clients) client.close();
    await server.close();
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await registryFindBench();
  saveResult('registry-find', result);
  process.stdout.write(toMarkdown(result));
}

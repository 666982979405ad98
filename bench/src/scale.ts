/**
 * Benchmark 4 of docs/performance.md: 10, 100 and 500 KERNEL connections on one node through the real
 * daemons. `nsm up`'s runtime brings up a one-node lab (registry, a manager and a forwarder process
 * inside the node namespace, an endpoint pod handing out /32s from a /16); a bench client process in
 * a pod namespace of the lab makes the connections one after another (interfaces `nsm-<i>`), timing
 * each request, and pauses at 10, 100 and 500 so the manager's and forwarder's RSS are read while
 * nothing is in flight. Baseline: the first 10 connections. `nsm down`'s runtime removes the lab.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { issueIdentity, down } from '@nsm-ts/cli/lab';
import { Lab } from '@nsm-ts/cli/lab';
import { readPodStatus } from '@nsm-ts/cli/lab';
import { listComponents } from '@nsm-ts/cli/lab';
import { up } from '@nsm-ts/cli/lab';
import { ip, ipJson } from './ns/namespaces.js';
import {
  type BenchClient,
  onInterrupt,
  SCALE_ENDPOINT,
  SCALE_SERVICE,
  rssMb,
  startBenchClient,
  writeScaleManifests,
} from './ns/lab-client.js';
import { percentile, saveResult, toMarkdown, type BenchResult, type BenchRow } from './result.js';

const COUNT = Number(process.env['BENCH_SCALE_COUNT'] ?? 500);
const CHECKPOINTS = [...new Set([10, 100, 500, COUNT].filter((n) => n <= COUNT))].sort((a, b) => a - b);
const NODE = 'node-1';
/** The connection phase stops here, whatever is left (the whole benchmark stays under 3 minutes). */
const CONNECT_BUDGET_MS = 120_000;
const RSS_BAR_MB = 150;

interface Run {
  ms: number[];
  errors: string[];
  dsts: string[];
  rss: Map<number, { manager: number; forwarder: number }>;
  interfaces: Map<number, number>;
  warmupMs: number[];
  closeMs: number;
  closeFailures: number;
}

async function waitForEndpoint(lab: Lab): Promise<void> {
  const until = Date.now() + 20_000;
  while (!readPodStatus(lab, SCALE_ENDPOINT)?.endpoint) {
    if (Date.now() > until) throw new Error(`endpoint ${SCALE_ENDPOINT} did not register within 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function daemonPids(lab: Lab): Promise<{ manager: number; forwarder: number }> {
  const components = await listComponents(lab);
  const pid = (name: string): number => {
    const p = components.find((x) => x.name === name)?.pid;
    if (p === undefined) throw new Error(`the lab's supervisor runs no process ${name}`);
    return p;
  };
  return { manager: pid(`nsmgr-${NODE}`), forwarder: pid(`forwarder-${NODE}`) };
}

const linkCount = (ns: string): number =>
  ipJson<{ ifname: string }[]>(ns, 'link', 'show').filter((l) => l.ifname !== 'lo').length;

async function drive(client: BenchClient, lab: Lab, clientNs: string): Promise<Run> {
  const pids = await daemonPids(lab);
  const run: Run = {
    ms: [],
    errors: [],
    dsts: [],
    rss: new Map(),
    interfaces: new Map(),
    warmupMs: [],
    closeMs: NaN,
    closeFailures: 0,
  };
  const sample = (n: number): void => {
    run.rss.set(n, { manager: rssMb(pids.manager), forwarder: rssMb(pids.forwarder) });
    run.interfaces.set(n, linkCount(clientNs));
  };
  for (let line = await client.next(60_000); !line['ready']; line = await client.next(60_000)) {
    if (typeof line['error'] === 'string') throw new Error(`warm-up connection failed: ${line['error']}`);
    run.warmupMs.push(Number(line['ms']));
  }
  sample(0);
  client.go();
  const until = Date.now() + CONNECT_BUDGET_MS;
  for (;;) {
    const line = await client.next(Math.max(1000, until - Date.now()));
    if (typeof line['n'] === 'number') {
      run.ms.push(Number(line['ms']));
      if (typeof line['error'] === 'string') run.errors.push(`#${line['n']}: ${line['error']}`);
      else run.dsts.push(String(line['dst']));
    } else if (typeof line['checkpoint'] === 'number') {
      sample(line['checkpoint']);
      client.go();
    } else if (line['closing'] !== undefined) break;
  }
  // Traffic check on the first and the last connection (outside any timing).
  for (const dst of [run.dsts[0], run.dsts.at(-1)]) {
    if (dst) ip(['netns', 'exec', clientNs, 'ping', '-c1', '-W2', dst.split('/')[0] ?? dst]);
  }
  client.go();
  const closed = await client.next(60_000);
  run.closeMs = Number(closed['ms']);
  run.closeFailures = Number(closed['failed']);
  return run;
}

const median = (xs: number[]): number => percentile(xs, 50);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function rows(run: Run): BenchRow[] {
  const first = run.ms.slice(0, 10);
  const tail = run.ms.slice(Math.floor(run.ms.length * 0.9));
  const base = median(first);
  const out: BenchRow[] = [
    { metric: 'per-connection time, connections 1–10 (median)', value: base, unit: 'ms' },
    {
      metric: `per-connection time, last 10% (${run.ms.length - tail.length + 1}–${run.ms.length}, median)`,
      value: median(tail),
      unit: 'ms',
      baseline: base,
      ratio: median(tail) / base,
      bar: '≤ 1.5× first 10',
      pass: median(tail) <= 1.5 * base,
    },
  ];
  const at10 = mean(run.ms.slice(0, 10));
  for (const n of CHECKPOINTS) {
    if (n > run.ms.length) continue;
    const avg = mean(run.ms.slice(0, n));
    out.push({
      metric: `${n} connections: total/N`,
      value: avg,
      unit: 'ms',
      baseline: at10,
      ratio: avg / at10,
    });
  }
  out.push({
    metric: 'failed connections',
    value: run.errors.length + (COUNT - run.ms.length),
    unit: '',
    bar: '0',
    pass: run.errors.length === 0 && run.ms.length === COUNT,
  });
  for (const n of [0, ...CHECKPOINTS]) {
    const rss = run.rss.get(n);
    if (!rss) continue;
    const last = n === COUNT;
    for (const who of ['manager', 'forwarder'] as const) {
      out.push({
        metric: `RSS ${who} at ${n} connections`,
        value: rss[who],
        unit: 'MB',
        ...(last ? { bar: `≤ ${RSS_BAR_MB} MB`, pass: rss[who] <= RSS_BAR_MB } : {}),
      });
    }
  }
  out.push({
    metric: `close, per connection (${run.ms.length - run.errors.length} sequential closes)`,
    value: run.closeMs / Math.max(1, run.ms.length - run.errors.length),
    unit: 'ms',
  });
  return out;
}

/** Runs benchmark 4. */
export async function scaleBench(): Promise<BenchResult> {
  const lab = new Lab(`bsc-${randomBytes(3).toString('hex')}`);
  const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-scale-'));
  let client: BenchClient | undefined;
  // One removal, shared by the normal end and an interrupt arriving meanwhile.
  let removing: Promise<{ processes: number; namespaces: string[] }> | undefined;
  const removeLab = (): Promise<{ processes: number; namespaces: string[] }> =>
    (removing ??= (async () => {
      client?.kill();
      const removed = await down(lab);
      rmSync(dir, { recursive: true, force: true });
      return removed;
    })());
  const unregister = onInterrupt(removeLab);
  try {
    writeScaleManifests(dir, NODE);
    await up({
      paths: [dir],
      nodes: 1,
      lab: lab.name,
      progress: (line) => process.stderr.write(`scale: ${line}\n`),
    });
    await waitForEndpoint(lab);
    const clientNs = lab.netns('bench-nsc');
    // The client joins as a user's own NSC does: with an identity from the lab's CA (`nsm identity`).
    const identityDir = join(dir, 'bench-nsc-identity');
    await issueIdentity(lab, 'ns/default/pod/bench-nsc', identityDir, 3_600_000);
    ip(['netns', 'add', clientNs]);
    ip(['-n', clientNs, 'link', 'set', 'lo', 'up']);
    client = startBenchClient(clientNs, {
      NSM_LAB: lab.name, // so that `down` finds it too
      NSM_CONNECT_TO: lab.socket(`nsmgr-${NODE}`),
      POD_NAME: 'bench-nsc',
      NODE_NAME: NODE,
      NSM_IDENTITY_DIR: identityDir,
      BENCH_SERVICE: SCALE_SERVICE,
      BENCH_COUNT: String(COUNT),
      BENCH_CHECKPOINTS: CHECKPOINTS.join(','),
    });
    const run = await drive(client, lab, clientNs);
    const built = [...run.interfaces].map(([n, c]) => `${c} at ${n}`).join(', ');
    return {
      name: 'Scale: connections on one node (benchmark 4)',
      rows: rows(run),
      notes: [
        `${COUNT} sequential KERNEL connections (veth pairs) from one client pod to one endpoint pod through real registry, manager and forwarder processes (lab runtime, log level info), after ${run.warmupMs.length} warm-up connect+close (${run.warmupMs.map((m) => m.toFixed(0)).join(', ')} ms). ` +
          `Interfaces in the client pod: ${built}. Pings over the first and last connection passed. RSS is VmRSS read at each checkpoint with nothing in flight.`,
        ...(run.errors.length > 0 ? [`Failures: ${run.errors.slice(0, 5).join('; ')}`] : []),
      ],
    };
  } finally {
    unregister();
    const removed = await removeLab();
    process.stderr.write(
      `scale: removed ${removed.processes} processes and ${removed.namespaces.length} namespaces\n`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await scaleBench();
  saveResult('scale', result);
  process.stdout.write(toMarkdown(result));
}

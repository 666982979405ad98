/**
 * Benchmarks 8 and 10 of docs/performance.md: how long traffic stops when a part of the mesh dies, on the
 * lab runtime with every daemon and pod a real process. A pinger in the client pod sends one echo
 * every 10 ms to its peer and counts lost replies; the outage runs from the first lost reply to the
 * first reply after the last one. Each failure is a `kill -9` (the lab's supervisor starts the
 * component again, as a kubelet would), or a pod deletion (`nsm delete`), after which the client must
 * reach another endpoint. Beside the data plane, the time until the client holds its connection UP
 * again (the control plane healed) is reported. No baseline: the bars are absolute (≤ 1 s; no loss).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deletePod } from '@nsm-ts/cli/lab';
import { down } from '@nsm-ts/cli/lab';
import { Lab } from '@nsm-ts/cli/lab';
import { readPodStatus } from '@nsm-ts/cli/lab';
import { listComponents } from '@nsm-ts/cli/lab';
import { up } from '@nsm-ts/cli/lab';
import { controlComponent } from '@nsm-ts/cli/lab';
import { onInterrupt } from './ns/lab-client.js';
import { peerOf, startPinger } from './ns/pinger.js';
import { percentile, saveResult, toMarkdown, type BenchResult, type BenchRow } from './result.js';

const ROUNDS = Number(process.env['BENCH_HEAL_ROUNDS'] ?? 3);
const log = (line: string): void => void process.stderr.write(`heal: ${line}\n`);

interface Sample {
  lost: number;
  outageMs: number;
  /** Until the client holds its connection UP again (0: it never noticed). */
  controlMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the client's request on `ifname` is up; the time it was seen healing is kept. */
async function controlRecovery(lab: Lab, pod: string, ifname: string, since: number): Promise<number> {
  let healing = false;
  const until = since + 20_000;
  for (;;) {
    const status = readPodStatus(lab, pod);
    const request = status?.requests.find((r) => r.ifname === ifname);
    if (request?.state !== 'up') healing = true;
    else if (healing || performance.now() - since > 3000) return healing ? performance.now() - since : 0;
    if (performance.now() > until) throw new Error(`${pod}/${ifname} did not come up again within 20 s`);
    await sleep(10);
  }
}

/** One failure injected while a pinger runs; returns what the pinger and the client saw. */
async function measure(
  lab: Lab,
  client: { pod: string; ifname: string },
  inject: () => Promise<void>,
): Promise<Sample> {
  const pinger = startPinger(
    `/run/netns/${lab.netns(client.pod)}`,
    peerOf(lab.name, client.pod, client.ifname),
  );
  await sleep(300);
  pinger.mark();
  const started = performance.now();
  await inject();
  const controlMs = await controlRecovery(lab, client.pod, client.ifname, started);
  await pinger.recovered(20_000);
  await sleep(300);
  const report = await pinger.stop();
  return { lost: report.lost, outageMs: report.outageMs, controlMs };
}

async function kill(lab: Lab, component: string): Promise<void> {
  const pid = (await listComponents(lab)).find((c) => c.name === component)?.pid;
  if (pid === undefined) throw new Error(`${component} is not running`);
  process.kill(pid, 'SIGKILL');
  // Back in service (the supervisor restarted it) before the next round.
}

async function waitRunning(lab: Lab, component: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await listComponents(lab)).find((c) => c.name === component)?.state === 'running') return;
    await sleep(25);
  }
  throw new Error(`${component} did not run again`);
}

function rowsOf(what: string, samples: Sample[], bar: { outage?: number; lossFree?: boolean }): BenchRow[] {
  const outage = samples.map((s) => s.outageMs);
  const control = samples.map((s) => s.controlMs);
  const lost = samples.map((s) => s.lost);
  const worst = Math.max(...outage);
  return [
    {
      metric: `${what}: data-plane outage, worst of ${samples.length}`,
      value: worst,
      unit: 'ms',
      ...(bar.outage !== undefined ? { bar: `≤ ${bar.outage} ms`, pass: worst <= bar.outage } : {}),
      ...(bar.lossFree ? { bar: 'no loss', pass: lost.every((l) => l === 0) } : {}),
    },
    { metric: `${what}: lost replies (10 ms pinger), per round`, value: Math.max(...lost), unit: 'max' },
    { metric: `${what}: client holds it UP again, median`, value: percentile(control, 50), unit: 'ms' },
  ];
}

const k2e2k = 'deploy/examples/kernel2ethernet2kernel';

/** Benchmark 8 on kernel2ethernet2kernel (client node-1, endpoint node-2, VXLAN). */
async function restarts(lab: Lab): Promise<BenchRow[]> {
  await up({ paths: [k2e2k], nodes: 2, lab: lab.name, progress: (l) => log(l) });
  const client = { pod: 'nsc-kernel-remote', ifname: 'nsm-1' };
  const rows: BenchRow[] = [];
  const cases: [string, string, { outage?: number; lossFree?: boolean }][] = [
    ['forwarder restart (node of the client)', 'forwarder-node-1', { outage: 1000 }],
    ['forwarder restart (node of the endpoint)', 'forwarder-node-2', { outage: 1000 }],
    ['manager restart', 'nsmgr-node-1', { outage: 1000 }],
    ['endpoint death (kill -9, restarted)', 'pod/nse-kernel-remote', { outage: 1000 }],
    ['registry restart', 'registry', { lossFree: true }],
  ];
  for (const [what, component, bar] of cases) {
    const samples: Sample[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      samples.push(await measure(lab, client, () => kill(lab, component)));
      await waitRunning(lab, component);
      await sleep(500);
    }
    log(`${what}: ${JSON.stringify(samples.map((s) => Math.round(s.outageMs)))} ms outage`);
    rows.push(...rowsOf(what, samples, bar));
  }
  return rows;
}

/**
 * A passthrough stopped for 1 s and started again (secure-intranet: client → firewall → VPN gateway):
 * from the start of the firewall until traffic passes again. Run with the forwarders' discovery
 * waiting for endpoints (the default, NSM_DISCOVER_WAIT=5s) and, as the baseline in the same run,
 * without (NSM_DISCOVER_WAIT=0: a reselect that finds no endpoint fails and heal retries on backoff).
 */
async function passthroughRestart(lab: Lab, discoverWait: string): Promise<number[]> {
  const previous = process.env['NSM_DISCOVER_WAIT'];
  // The lab's daemons inherit the environment of `up`.
  process.env['NSM_DISCOVER_WAIT'] = discoverWait;
  try {
    await up({
      paths: ['deploy/examples/secure-intranet'],
      nodes: 2,
      lab: lab.name,
      progress: (l) => log(l),
    });
  } finally {
    if (previous === undefined) delete process.env['NSM_DISCOVER_WAIT'];
    else process.env['NSM_DISCOVER_WAIT'] = previous;
  }
  const client = { pod: 'intranet-client', ifname: 'nsm-1' };
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const pinger = startPinger(
      `/run/netns/${lab.netns(client.pod)}`,
      peerOf(lab.name, client.pod, client.ifname),
    );
    await sleep(500);
    await controlComponent(lab, 'pod/firewall', 'stop');
    await sleep(1000);
    const started = performance.now();
    await controlComponent(lab, 'pod/firewall', 'start');
    await pinger.recovered(30_000);
    samples.push(performance.now() - started);
    await pinger.stop();
    await sleep(500);
  }
  log(
    `passthrough restart (NSM_DISCOVER_WAIT=${discoverWait}): ${JSON.stringify(samples.map(Math.round))} ms`,
  );
  await down(lab);
  return samples;
}

/** Three endpoints on three nodes and a client on node-3: its endpoint is deleted each round. */
function spreadManifests(dir: string, rounds: number): void {
  const endpoint = (n: number): string =>
    `apiVersion: v1\nkind: Pod\nmetadata: { name: nse-${n} }\nspec:\n  nodeName: node-${(n % 3) + 1}\n  containers:\n    - name: nse\n      image: nse\n      env:\n        - { name: NSM_SERVICE_NAMES, value: heal }\n        - { name: NSM_CIDR_PREFIX, value: "10.81.${n}.0/24" }\n`;
  const docs = [
    'apiVersion: networkservicemesh.io/v1\nkind: NetworkService\nmetadata: { name: heal }\nspec: { payload: ETHERNET }\n',
    ...Array.from({ length: rounds + 2 }, (_, i) => endpoint(i + 1)),
    'apiVersion: v1\nkind: Pod\nmetadata:\n  name: nsc\n  annotations: { networkservicemesh.io: kernel://heal/nsm-1 }\nspec:\n  nodeName: node-3\n  containers: [{ name: nsc, image: alpine }]\n',
  ];
  writeFileSync(join(dir, 'heal.yaml'), docs.join('---\n'));
}

/** Benchmark 10: the client's endpoint is deleted; traffic must pass through another one. */
async function deletions(lab: Lab, dir: string): Promise<BenchRow[]> {
  spreadManifests(dir, ROUNDS);
  await up({ paths: [dir], nodes: 3, lab: lab.name, progress: (l) => log(l) });
  const client = { pod: 'nsc', ifname: 'nsm-1' };
  const samples: Sample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const endpoint = readPodStatus(lab, 'nsc')?.requests[0]?.endpoint;
    if (!endpoint) throw new Error('the client holds no connection');
    samples.push(
      await measure(lab, client, async () => {
        await deletePod(lab, lab.readState()!, endpoint);
      }),
    );
    const now = readPodStatus(lab, 'nsc')?.requests[0]?.endpoint;
    if (now === endpoint) throw new Error(`the client is still on the deleted ${endpoint}`);
    log(
      `deleted ${endpoint}: the client moved to ${now ?? '?'} after ${Math.round(samples.at(-1)!.outageMs)} ms`,
    );
  }
  return rowsOf('endpoint pod deleted → traffic through another endpoint', samples, { outage: 1000 });
}

/** Runs benchmarks 8 and 10. */
export async function healBench(): Promise<BenchResult> {
  const tag = randomBytes(3).toString('hex');
  const labs = [new Lab(`bh8-${tag}`), new Lab(`bh10-${tag}`), new Lab(`bhp-${tag}`), new Lab(`bhq-${tag}`)];
  const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-heal-'));
  const cleanup = async (): Promise<void> => {
    for (const lab of labs) await down(lab);
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onInterrupt(cleanup);
  try {
    const eight = await restarts(labs[0]!);
    await down(labs[0]!);
    const ten = await deletions(labs[1]!, dir);
    await down(labs[1]!);
    const waiting = await passthroughRestart(labs[2]!, '5s');
    const baseline = await passthroughRestart(labs[3]!, '0s');
    const medianWaiting = percentile(waiting, 50);
    const medianBaseline = percentile(baseline, 50);
    const passthrough: BenchRow[] = [
      {
        metric: 'passthrough started again → traffic passes, median (discovery waits)',
        value: medianWaiting,
        unit: 'ms',
      },
      {
        metric: 'the same without waiting (NSM_DISCOVER_WAIT=0, baseline), median',
        value: medianBaseline,
        unit: 'ms',
      },
      {
        metric: 'passthrough restart: waiting / baseline',
        value: Number((medianWaiting / medianBaseline).toFixed(2)),
        unit: 'ratio',
      },
    ];
    return {
      name: 'Heal: time until traffic passes again (benchmarks 8 and 10)',
      rows: [...eight, ...ten, ...passthrough],
      notes: [
        `Passthrough restart: secure-intranet (client → firewall → VPN gateway, two nodes); the firewall is stopped for 1 s (nsm stop) and started again; timed from its start until the pinger's traffic passes, ${ROUNDS} rounds with the forwarders' discovery waiting for endpoints (default) and ${ROUNDS} without (NSM_DISCOVER_WAIT=0), in the same run.`,
        `${ROUNDS} rounds each on the lab runtime (daemons and pods are processes); a pinger sends an echo every 10 ms from the client pod to its peer. Restarts are kill -9, the lab's supervisor starts the component again at once. The outage runs from the first lost reply to the first reply after the last loss; 0 means no reply was lost.`,
      ],
    };
  } finally {
    unregister();
    await cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await healBench();
  saveResult('heal', result);
  process.stdout.write(toMarkdown(result));
}

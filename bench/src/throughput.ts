/**
 * Benchmark 6 of docs/performance.md: throughput of one TCP stream (iperf3, 5 s) over a wire built by our
 * forwarder — a local veth between two pods, and a VXLAN wire across two node namespaces — against
 * the same topology built by hand with `ip` in the same run. Ours and hand-built alternate (the order
 * flips every round); each run builds the wire, checks it with ip and a ping, measures, tears it down.
 */
import { pathToFileURL } from 'node:url';
import { iperf, requireIperf } from './ns/iperf.js';
import { BenchNamespaces, ip, ipJson } from './ns/namespaces.js';
import {
  NSC_IF,
  NSE_IP,
  createTopology,
  forwarderBuilder,
  scriptBuilder,
  verifyEmpty,
  verifyWire,
  type Topology,
  type WireBuilder,
} from './ns/wires.js';
import { percentile, saveResult, toMarkdown, type BenchResult, type BenchRow } from './result.js';

const RUNS = Math.max(3, Number(process.env['BENCH_RUNS'] ?? 5));
const SECONDS = Number(process.env['BENCH_IPERF_SECONDS'] ?? 5);
const BAR = 0.95;

interface Samples {
  gbps: number[];
  retransmits: number[];
  /** `ip -d` details of the client pod's interface, as built. */
  details: Record<string, unknown>;
}

/** The settings that decide throughput, from `ip -d -j link show` (not names, indexes or addresses). */
function linkDetails(t: Topology): Record<string, unknown> {
  const [l] = ipJson<Record<string, unknown>[]>(t.nsc.name, '-d', 'link', 'show', 'dev', NSC_IF);
  if (!l) throw new Error(`${NSC_IF} not found in ${t.nsc.name}`);
  const info = (l['linkinfo'] ?? {}) as { info_kind?: string; info_data?: Record<string, unknown> };
  const { id: _vni, ...data } = info.info_data ?? {};
  const keep = [
    'mtu',
    'qdisc',
    'txqlen',
    'num_tx_queues',
    'num_rx_queues',
    'gso_max_size',
    'gso_max_segs',
    'gro_max_size',
    'tso_max_size',
  ];
  return { ...Object.fromEntries(keep.map((k) => [k, l[k]])), kind: info.info_kind, ...data };
}

async function measure(
  nss: BenchNamespaces,
  t: Topology,
  b: WireBuilder,
  id: string,
  s: Samples,
): Promise<void> {
  await b.build(id);
  try {
    verifyWire(t);
    ip(['netns', 'exec', t.nsc.name, 'ping', '-c1', '-W2', NSE_IP]);
    if (Object.keys(s.details).length === 0) s.details = linkDetails(t);
    const r = await iperf(t, SECONDS, nss);
    s.gbps.push(r.gbps);
    s.retransmits.push(r.retransmits);
  } finally {
    await b.teardown();
  }
  verifyEmpty(t);
}

async function rounds(nss: BenchNamespaces, t: Topology): Promise<{ ours: Samples; hand: Samples }> {
  const ours = forwarderBuilder(t);
  const hand = scriptBuilder(t);
  const out = {
    ours: { gbps: [], retransmits: [], details: {} } as Samples,
    hand: { gbps: [], retransmits: [], details: {} } as Samples,
  };
  for (let i = 0; i < RUNS; i++) {
    for (const b of i % 2 === 0 ? [ours, hand] : [hand, ours]) {
      await measure(nss, t, b, `tp-${b === ours ? 'f' : 's'}-${i}`, b === ours ? out.ours : out.hand);
    }
  }
  return out;
}

function differences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: ours ${JSON.stringify(a[k])}, hand ${JSON.stringify(b[k])}`);
}

function report(kind: string, r: { ours: Samples; hand: Samples }): { rows: BenchRow[]; note: string } {
  const ours = percentile(r.ours.gbps, 50);
  const hand = percentile(r.hand.gbps, 50);
  const diff = differences(r.ours.details, r.hand.details);
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
  return {
    rows: [
      {
        metric: `${kind}: 1 TCP stream, median of ${RUNS}`,
        value: ours,
        unit: 'Gbit/s',
        baseline: hand,
        ratio: ours / hand,
        bar: `≥ ${BAR}× hand-built`,
        pass: ours >= BAR * hand,
      },
      {
        // Rounds are adjacent in time, so their ratio cancels slow drifts in the machine's load.
        metric: `${kind}: per-round ratio ours/hand-built, median`,
        value: percentile(
          r.ours.gbps.map((g, i) => g / (r.hand.gbps[i] ?? NaN)),
          50,
        ),
        unit: '×',
      },
      {
        // How much the same hand-built wire varies from run to run here: the noise the bar sits in.
        metric: `${kind}: run-to-run spread of the hand-built wire (max/min)`,
        value: Math.max(...r.hand.gbps) / Math.min(...r.hand.gbps),
        unit: '×',
      },
    ],
    note:
      `${kind}: ours ${fmt(r.ours.gbps)} Gbit/s (retransmits ${r.ours.retransmits.join(', ')}), hand-built ${fmt(r.hand.gbps)} Gbit/s (retransmits ${r.hand.retransmits.join(', ')}); ` +
      (diff.length === 0
        ? `interface settings identical (${JSON.stringify(r.ours.details)}).`
        : `interface settings differ: ${diff.join('; ')}.`),
  };
}

/** Runs benchmark 6 (local veth and remote VXLAN). */
export async function throughputBench(): Promise<BenchResult> {
  requireIperf();
  const nss = new BenchNamespaces();
  try {
    const local = report('local veth', await rounds(nss, await createTopology(nss, 'local')));
    const remote = report('remote VXLAN', await rounds(nss, await createTopology(nss, 'remote')));
    return {
      name: 'Throughput over a built wire (benchmark 6)',
      rows: [...local.rows, ...remote.rows],
      notes: [
        `iperf3 -t ${SECONDS} -J, one TCP stream, server in the endpoint pod, client in the client pod; ${RUNS} runs each, ours and hand-built alternating, the wire rebuilt for every run. ` +
          'Ours: built by the forwarder mechanism elements (as in wire-setup); hand-built: the same interfaces from an ip -batch script.',
        local.note,
        remote.note,
      ],
    };
  } finally {
    const left = nss.cleanup();
    if (left.length > 0) process.stderr.write(`throughput: namespaces left behind: ${left.join(', ')}\n`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await throughputBench();
  saveResult('throughput', result);
  process.stdout.write(toMarkdown(result));
}

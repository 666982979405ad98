/**
 * Benchmark 9 of docs/performance.md: the cost of security. Control-plane connect p50 (benchmarks 1
 * and 2, local and remote) with mTLS, per-hop token signing and verification and the policies on,
 * against the same connects in a mesh with all of them off, both meshes in this process, measured in
 * alternating rounds so that drift of the machine hits both alike.
 */
import { pathToFileURL } from 'node:url';
import type { Mesh } from './mesh/mesh.js';
import { benchMesh, connectLatency, connectRate, floor, withEndpoint } from './control-plane.js';
import { percentile, saveResult, toMarkdown, type BenchResult, type BenchRow } from './result.js';

const ROUNDS = 4;
const PER_ROUND = Number(process.env['BENCH_SAMPLES'] ?? 400) / ROUNDS;

interface Measured {
  on: number[];
  off: number[];
  /** Sustained connect+close rates (per second), one per round. */
  rateOn: number[];
  rateOff: number[];
}

async function measure(secure: Mesh, insecure: Mesh, node: number): Promise<Measured> {
  const on: number[] = [];
  const off: number[] = [];
  const rateOn: number[] = [];
  const rateOff: number[] = [];
  await withEndpoint(secure, node, () =>
    withEndpoint(insecure, node, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        on.push(...(await connectLatency(secure, 1, PER_ROUND)));
        off.push(...(await connectLatency(insecure, 1, PER_ROUND)));
      }
      for (let round = 0; round < 2; round++) {
        rateOn.push(await connectRate(secure, 1));
        rateOff.push(await connectRate(insecure, 1));
      }
    }),
  );
  return { on, off, rateOn, rateOff };
}

function rows(kind: string, m: Measured): BenchRow[] {
  const on = percentile(m.on, 50);
  const off = percentile(m.off, 50);
  return [
    {
      metric: `${kind}: connect p50, security on vs off`,
      value: on,
      unit: 'ms',
      baseline: off,
      ratio: on / off,
      bar: '≤ 1.3×',
      pass: on / off <= 1.3,
    },
    {
      metric: `${kind}: connect p99, security on vs off`,
      value: percentile(m.on, 99),
      unit: 'ms',
      baseline: percentile(m.off, 99),
      ratio: percentile(m.on, 99) / percentile(m.off, 99),
    },
    {
      metric: `${kind}: sustained connect+close (16 in flight), security on vs off`,
      value: percentile(m.rateOn, 50),
      unit: '/s',
      baseline: percentile(m.rateOff, 50),
      ratio: percentile(m.rateOn, 50) / percentile(m.rateOff, 50),
    },
  ];
}

/** The transport alone: the same health round trips over mTLS and over plaintext channels. */
async function transport(secure: Mesh, insecure: Mesh): Promise<BenchRow> {
  const on: number[] = [];
  const off: number[] = [];
  const urls = (m: Mesh) => [m.node(1).managerUrl, m.node(1).forwarderUrl, m.node(1).managerUrl];
  for (let round = 0; round < ROUNDS; round++) {
    on.push(...(await floor(secure, urls(secure), PER_ROUND)));
    off.push(...(await floor(insecure, urls(insecure), PER_ROUND)));
  }
  const a = percentile(on, 50);
  const b = percentile(off, 50);
  return {
    metric: 'transport alone: 3 health round trips, mTLS vs plaintext, p50',
    value: a,
    unit: 'ms',
    baseline: b,
    ratio: a / b,
  };
}

/** Runs benchmark 9. */
export async function securityBench(): Promise<BenchResult> {
  const secure = await benchMesh(true);
  const insecure = await benchMesh(false);
  try {
    const local = await measure(secure, insecure, 1);
    const remote = await measure(secure, insecure, 2);
    const wire = await transport(secure, insecure);
    return {
      name: 'Cost of security (benchmark 9)',
      rows: [...rows('local (4 hops)', local), ...rows('remote (6 hops)', remote), wire],
      notes: [
        `${ROUNDS} alternating rounds of ${PER_ROUND} sequential connects per mesh, then 2 alternating rounds of 3 s at 16 in flight (median); on = mTLS on every channel, ES256 tokens with x5c signed per call and per segment, every token of the path verified (cached by token) and the policies at each hop; off = the same mesh in insecure mode.`,
      ],
    };
  } finally {
    await secure.close();
    await insecure.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await securityBench();
  saveResult('security', result);
  process.stdout.write(toMarkdown(result));
}

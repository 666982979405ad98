/**
 * Benchmark results: every figure next to a baseline measured in the same run, as a ratio, with the
 * bar from docs/performance.md. Absolute times on a shared machine mean little; ratios do.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measured figure. */
export interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  /** The same-run baseline, in the same unit. */
  baseline?: number;
  /** value / baseline (or what the bar compares). */
  ratio?: number;
  /** The bar, as text (e.g. `≤ 4× floor`). */
  bar?: string;
  pass?: boolean;
}

/** One benchmark's result. */
export interface BenchResult {
  name: string;
  rows: BenchRow[];
  notes?: string[];
}

/** Percentile `p` (0..100) of `values` (sorted copy, nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

function fmt(n: number | undefined, digits = 3): string {
  if (n === undefined || Number.isNaN(n)) return '';
  return Math.abs(n) >= 100 ? n.toFixed(0) : Number(n.toPrecision(digits)).toString();
}

/** The result as a Markdown table. */
export function toMarkdown(result: BenchResult): string {
  const lines = [
    `### ${result.name}`,
    '',
    '| metric | value | baseline | ratio | bar | pass |',
    '|---|---|---|---|---|---|',
    ...result.rows.map(
      (r) =>
        `| ${r.metric} | ${fmt(r.value)} ${r.unit} | ${r.baseline === undefined ? '' : `${fmt(r.baseline)} ${r.unit}`} | ${r.ratio === undefined ? '' : `${fmt(r.ratio)}×`} | ${r.bar ?? ''} | ${r.pass === undefined ? '' : r.pass ? 'yes' : '**no**'} |`,
    ),
  ];
  for (const note of result.notes ?? []) lines.push('', `_${note}_`);
  return lines.join('\n') + '\n';
}

/** Writes `bench/results/<name>.json` (next to the sources, also when run from dist). */
export function saveResult(slug: string, result: BenchResult): string {
  // This module runs from bench/src or bench/dist: results go to bench/results either way.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const out = join(root, 'results', `${slug}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ ...result, at: new Date().toISOString() }, null, 2) + '\n');
  return out;
}

/**
 * The rows of a control-plane connect benchmark (1 and 2): latency against `hops` plain unary round
 * trips on the same sockets, and the sustained rate of connect+close with 16 in flight.
 */
export function connectRows(
  kind: string,
  hops: number,
  m: { latency: number[]; floor: number[]; rate: number },
): BenchRow[] {
  const p50 = percentile(m.latency, 50);
  const f50 = percentile(m.floor, 50);
  const p99 = percentile(m.latency, 99);
  const f99 = percentile(m.floor, 99);
  return [
    {
      metric: `${kind} connect p50`,
      value: p50,
      unit: 'ms',
      baseline: f50,
      ratio: p50 / f50,
      bar: '≤ 2× floor',
      pass: p50 <= 2 * f50,
    },
    { metric: `${kind} connect p99`, value: p99, unit: 'ms', baseline: f99, ratio: p99 / f99 },
    { metric: `${kind} floor: ${hops} unary round trips on the same sockets, p50`, value: f50, unit: 'ms' },
    {
      metric: `${kind} sustained connect+close, 16 in flight`,
      value: m.rate,
      unit: '/s',
      bar: '≥ 1000/s',
      pass: m.rate >= 1000,
    },
  ];
}

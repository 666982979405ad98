/**
 * Durations as users write them in configuration (Go's `time.ParseDuration` syntax, which NSM users
 * already know from upstream): `10m`, `30s`, `1m30s`, `250ms`, `1.5h`, `0`.
 */
import { invalidArgument } from '../core/errors.js';

const unitMs: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const examples = 'expected a number with a unit (ns, us, ms, s, m, h), e.g. 250ms, 30s, 1m30s, 10m';
const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/**
 * Parses a duration into milliseconds (fractions kept for ns/us). Throws an INVALID_ARGUMENT NsmError
 * naming the text and the accepted forms. Negative durations are rejected: no setting here wants one.
 * Usage: `parseDuration('1m30s') === 90_000`.
 */
export function parseDuration(text: string): number {
  const input = text.trim();
  const bad = (why: string): Error => invalidArgument(`bad duration "${text}": ${why}; ${examples}`);
  if (input === '') throw bad('it is empty');
  if (input.startsWith('-')) throw bad('it must not be negative');
  let rest = input.startsWith('+') ? input.slice(1) : input;
  if (rest === '0') return 0;
  let total = 0;
  while (rest.length > 0) {
    const match = part.exec(rest);
    if (!match) throw bad(explain(rest));
    const [whole, value = '', unit = ''] = match;
    total += Number(value) * (unitMs[unit] ?? NaN);
    rest = rest.slice(whole.length);
  }
  if (!Number.isFinite(total)) throw bad('it is too large');
  return total;
}

function explain(rest: string): string {
  if (/^(\d+(?:\.\d*)?|\.\d+)$/.test(rest)) return `"${rest}" has no unit`;
  if (!/^[\d.]/.test(rest)) return `expected a number at "${rest}"`;
  return `unknown unit at "${rest}"`;
}

/**
 * Formats milliseconds the way `parseDuration` reads them, largest units first: `90_000` → `1m30s`,
 * `250` → `250ms`, `0` → `0s`. Usage: `log.info({ expire: formatDuration(ms) })`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return '-' + formatDuration(-ms);
  if (ms === 0) return '0s';
  if (ms < 1) return ms >= 1e-3 ? `${round(ms * 1000)}us` : `${round(ms * 1e6)}ns`;
  if (ms < 1000) return `${round(ms)}ms`;
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  if (rest >= 1000 || (rest > 0 && !Number.isInteger(rest))) out += `${round(rest / 1000)}s`;
  else if (rest > 0) out += `${rest}ms`;
  return out;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

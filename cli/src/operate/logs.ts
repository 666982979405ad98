/**
 * `nsm logs [name] [-f] [--json]`: the logs of a component or pod, or of every one of them merged
 * by time, in a human-readable form (time, level, who, message, the other fields as key=value);
 * `--json` keeps pino's lines as written. `-f` follows them as they grow, picking up components
 * that start later, until Ctrl-C.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { LabPreconditionError } from '../lab/system.js';

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** pino's fields that the line shows in its own columns (or that say nothing to a reader). */
const SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

/** One log line: its time (for merging) and the text to print. */
export interface LogLine {
  time: number;
  text: string;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/**
 * A pino JSON line as `HH:MM:SS.mmm LEVEL who message key=value...`; any other line as it is,
 * after `who`. `fallbackTime` orders lines without a time.
 */
export function formatLogLine(line: string, who: string, fallbackTime = 0): LogLine {
  let rec: Record<string, unknown> | undefined;
  if (line.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null) rec = parsed as Record<string, unknown>;
    } catch {
      rec = undefined;
    }
  }
  if (!rec) return { time: fallbackTime, text: `${' '.repeat(18)}${who.padEnd(20)} ${line}` };
  const time = typeof rec['time'] === 'number' ? rec['time'] : fallbackTime;
  const clock = new Date(time).toISOString().slice(11, 23);
  const level = (LEVELS[Number(rec['level'])] ?? value(rec['level'] ?? '')).padEnd(5);
  const fields = Object.entries(rec)
    .filter(([k]) => !SHOWN.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  const msg = typeof rec['msg'] === 'string' ? rec['msg'] : '';
  return { time, text: [clock, level, who.padEnd(20), msg, ...fields].join(' ').trimEnd() };
}

/** The log files to show: one component's, or all of the lab's. */
function logFiles(lab: Lab, name: string | undefined): { file: string; who: string }[] {
  const who = (file: string) => basename(file, '.log').replace(/^pod-/, '');
  if (name === undefined) {
    if (!existsSync(lab.logDir)) throw new LabPreconditionError(`lab "${lab.name}" is not up: no logs`);
    return readdirSync(lab.logDir)
      .filter((f) => f.endsWith('.log'))
      .sort()
      .map((f) => ({ file: join(lab.logDir, f), who: who(f) }));
  }
  const file = [lab.log(name), lab.log(`pod-${name}`)].find((f) => existsSync(f));
  if (!file) {
    const state = lab.readState();
    const known = state ? ['supervisor', ...state.components.map((c) => c.name.replace(/^pod\//, ''))] : [];
    throw new LabPreconditionError(
      `no logs for "${name}"${known.length ? `; known: ${known.join(', ')}` : `: lab "${lab.name}" is not up`}`,
    );
  }
  return [{ file, who: who(file) }];
}

/** Reads what was appended to `file` since `offset`: complete lines, and the new offset. */
function readFrom(file: string, offset: number): { lines: string[]; offset: number } {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return { lines: [], offset };
  }
  if (size < offset) offset = 0; // truncated or replaced
  if (size === offset) return { lines: [], offset };
  const buf = Buffer.alloc(size - offset);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, buf.length, offset);
  } finally {
    closeSync(fd);
  }
  const text = buf.toString('utf8');
  const end = text.lastIndexOf('\n');
  if (end < 0) return { lines: [], offset };
  return {
    lines: text.slice(0, end).split('\n'),
    offset: offset + Buffer.byteLength(text.slice(0, end + 1)),
  };
}

/** Options of `nsm logs`. */
export interface LogsOptions {
  lab: string;
  follow?: boolean;
  json?: boolean;
  /** Stops following (tests; Ctrl-C otherwise). */
  signal?: AbortSignal;
  write?: (text: string) => void;
}

/** Prints the logs; with `follow`, goes on until the signal or SIGINT. */
export async function logsCommand(name: string | undefined, opts: LogsOptions): Promise<number> {
  const lab = new Lab(opts.lab);
  const write = opts.write ?? ((t: string) => void process.stdout.write(t));
  const offsets = new Map<string, number>();
  const batch = (files: { file: string; who: string }[]): void => {
    const lines: LogLine[] = [];
    for (const { file, who } of files) {
      const read = readFrom(file, offsets.get(file) ?? 0);
      offsets.set(file, read.offset);
      for (const l of read.lines)
        lines.push(opts.json ? { time: formatLogLine(l, who).time, text: l } : formatLogLine(l, who));
    }
    // Merged by time; lines of one file keep their order (a stable sort).
    if (files.length > 1) lines.sort((a, b) => a.time - b.time);
    for (const l of lines) write(`${l.text}\n`);
  };
  batch(logFiles(lab, name));
  if (!opts.follow) return 0;
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  if (opts.signal?.aborted) stop.abort();
  opts.signal?.addEventListener('abort', onSigint, { once: true });
  try {
    while (!stop.signal.aborted) {
      await new Promise((r) => setTimeout(r, 200));
      if (name !== undefined || existsSync(lab.logDir)) batch(logFiles(lab, name));
    }
  } finally {
    process.off('SIGINT', onSigint);
    opts.signal?.removeEventListener('abort', onSigint);
  }
  return 0;
}

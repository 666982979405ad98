/**
 * Namespaces for the data-plane benchmarks: every one carries a per-run prefix (`nsmb-<hex>-`), and
 * {@link BenchNamespaces.cleanup} removes all of them, after running the registered cleanups (sockets
 * first: an open descriptor keeps a deleted namespace, and its links, alive). Cleanup is synchronous
 * so that it also runs from a signal handler.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Prefix shared by every benchmark namespace (a run adds its own random part). */
export const BENCH_NS_PREFIX = 'nsmb-';

/** A namespace made by a benchmark. */
export interface BenchNs {
  readonly name: string;
  /** Its bind-mounted file, `/run/netns/<name>`. */
  readonly path: string;
}

/** Runs `ip <args>` (with `input` on stdin, e.g. for `-batch -`); throws with ip's stderr. */
export function ip(args: readonly string[], input?: string): string {
  const res = spawnSync('ip', args, { input: input ?? '', encoding: 'utf8' });
  if (res.error) throw new Error(`ip ${args.join(' ')}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${res.stderr.trim()}`);
  return res.stdout;
}

/** Runs `lines` with one `ip -n <ns> -batch -` process: one exec and one namespace switch. */
export function ipBatch(ns: string, lines: readonly string[]): void {
  ip(['-n', ns, '-batch', '-'], lines.join('\n') + '\n');
}

/** `ip -n <ns> -j <args>`, parsed. */
export function ipJson<T>(ns: string, ...args: string[]): T {
  const out = ip(['-n', ns, '-j', ...args]).trim();
  return JSON.parse(out === '' ? '[]' : out) as T;
}

/** Names of namespaces (in /run/netns) starting with `prefix`. */
export function namespacesWith(prefix: string): string[] {
  const out = execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }).trim();
  return (JSON.parse(out === '' ? '[]' : out) as { name: string }[])
    .map((n) => n.name)
    .filter((n) => n.startsWith(prefix));
}

/**
 * The namespaces of one benchmark run.
 * Usage: `const nss = new BenchNamespaces(); try { const pod = nss.add('c'); ... } finally { nss.cleanup(); }`.
 */
export class BenchNamespaces {
  readonly prefix = `${BENCH_NS_PREFIX}${randomBytes(3).toString('hex')}-`;
  private readonly made: BenchNs[] = [];
  private cleanups: (() => void)[] = [];
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.cleanup();
    process.kill(process.pid, signal);
  };

  constructor() {
    // An interrupted benchmark still leaves nothing behind.
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** Creates `<prefix><label>` with loopback up. */
  add(label: string): BenchNs {
    const name = `${this.prefix}${label}`;
    ip(['netns', 'add', name]);
    const ns = { name, path: `/run/netns/${name}` };
    this.made.push(ns);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Registers a cleanup that runs (newest first) before the namespaces are deleted. */
  defer(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** Runs the cleanups, deletes every namespace of this run and returns the names of any left over. */
  cleanup(): string[] {
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    for (const fn of this.cleanups.reverse()) {
      try {
        fn();
      } catch (err) {
        process.stderr.write(`bench cleanup: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
    this.cleanups = [];
    const names = namespacesWith(this.prefix);
    if (names.length > 0)
      spawnSync('ip', ['-force', '-batch', '-'], {
        input: names.map((n) => `netns del ${n}`).join('\n') + '\n',
      });
    this.made.splice(0);
    return namespacesWith(this.prefix);
  }
}

/** Kills a process this benchmark started (by pid, group first when it leads one); ignores a gone one. */
export function killStarted(pid: number | undefined): void {
  if (pid === undefined) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // not a group leader, or gone already
    }
  }
}

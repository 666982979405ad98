import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Prefix of every namespace the kernel-layer tests create. */
export const TEST_NS_PREFIX = 'nsmt-';

/** A short random suffix that keeps names of concurrent test runs apart. */
export function randomSuffix(): string {
  return randomBytes(3).toString('hex');
}

/** A namespace created for a test. */
export interface TestNamespace {
  readonly name: string;
  /** The bind-mounted namespace file, `/run/netns/<name>`. */
  readonly path: string;
}

/** Runs `ip -n <ns> <args>` and returns its stdout. */
export function ipIn(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `ip -n <ns> -j <args>` and parses the JSON. */
export function ipJson<T = unknown>(ns: string, ...args: string[]): T {
  const out = ipIn(ns, '-j', ...args).trim();
  return JSON.parse(out === '' ? '[]' : out) as T;
}

/** Runs a command inside a namespace; resolves true when it exits 0 (e.g. ping). */
export function succeedsIn(ns: string, cmd: string, ...args: string[]): boolean {
  try {
    execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates test namespaces with `ip netns add` (tests only: production code never execs `ip`) and
 * removes them, after running registered cleanups, in {@link NamespaceFixture.cleanup}.
 * Usage: `const fx = new NamespaceFixture(); afterEach(() => fx.cleanup()); const ns = fx.add('a');`
 */
export class NamespaceFixture {
  private readonly namespaces: TestNamespace[] = [];
  private cleanups: (() => void)[] = [];

  /** Creates `nsmt-<label><random>` with loopback up. */
  add(label = ''): TestNamespace {
    const name = `${TEST_NS_PREFIX}${label}${randomSuffix()}`;
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
    const ns = { name, path: `/run/netns/${name}` };
    this.namespaces.push(ns);
    ipIn(name, 'link', 'set', 'lo', 'up');
    return ns;
  }

  /** Deletes one of the fixture's namespaces now (a pod deleted during the test). */
  remove(ns: TestNamespace): void {
    const i = this.namespaces.indexOf(ns);
    if (i >= 0) this.namespaces.splice(i, 1);
    execFileSync('ip', ['netns', 'del', ns.name], { stdio: 'pipe' });
  }

  /**
   * Registers a cleanup that runs before the namespaces go. Sockets and descriptors must close
   * first: they hold a namespace alive after `ip netns del`, with its links still inside.
   */
  defer(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** Runs cleanups newest first, deletes the namespaces, and throws if anything failed. */
  cleanup(): void {
    const errors: unknown[] = [];
    for (const fn of this.cleanups.reverse()) {
      try {
        fn();
      } catch (err) {
        errors.push(err);
      }
    }
    this.cleanups = [];
    for (const ns of this.namespaces.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', ns.name], { stdio: 'pipe' });
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'test namespace cleanup failed');
  }
}

/** Names of namespaces with the test prefix that still exist (for leak assertions). */
export function listTestNamespaces(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(TEST_NS_PREFIX));
}

/**
 * The lab's supervisor, as a kubelet is for a node: it runs every daemon and pod of the lab as its
 * child, starts one again when it exits (restart policy Always by default, with a growing backoff
 * while it keeps crashing, and a restart count), leaves alone what was stopped on purpose, and
 * writes what it knows after every change for `nsm status`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, renameSync, writeFileSync } from 'node:fs';
import type { Logger } from '@nsm-ts/sdk/core';
import { backoffDelay } from '@nsm-ts/sdk/tools';
import type { ComponentSpec, ComponentState, ComponentStatus, SupervisorReport } from './spec.js';

/** A component that ran this long is healthy again: its next crash restarts it at once. */
const HEALTHY_AFTER_MS = 10_000;
/** SIGTERM first; SIGKILL after this. */
const GRACE_MS = 5_000;

interface Entry {
  spec: ComponentSpec;
  state: ComponentState;
  child?: ChildProcess | undefined;
  exited?: Promise<void>;
  restarts: number;
  crashes: number;
  startedAt?: number;
  lastExit?: ComponentStatus['lastExit'];
  nextStartAt?: number | undefined;
  timer?: NodeJS.Timeout | undefined;
}

/** Options of the supervisor. */
export interface SupervisorOptions {
  readonly lab: string;
  readonly log: Logger;
  /** Where the report goes (written atomically). */
  readonly reportFile: string;
  /** Runs before every (re)start, e.g. to issue or renew the component's identity. */
  readonly beforeStart?: (spec: ComponentSpec) => Promise<void>;
  /** Runs after a component was (re)started, e.g. to register the NetworkServices again. */
  readonly afterStart?: (spec: ComponentSpec) => Promise<void>;
}

/** Thrown for a component the supervisor does not know. */
export class UnknownComponentError extends Error {
  override readonly name = 'UnknownComponentError';
}

/** Usage: `const s = new Supervisor({ lab, log, reportFile }); await s.start(spec); await s.shutdown()`. */
export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private closing = false;

  constructor(private readonly options: SupervisorOptions) {}

  /** Every component, in the order they were added. */
  list(): ComponentStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.spec.name,
      kind: e.spec.kind,
      ...(e.spec.node ? { node: e.spec.node } : {}),
      netns: e.spec.netns,
      restart: e.spec.restart,
      state: e.state,
      ...(e.child?.pid !== undefined && e.state === 'running' ? { pid: e.child.pid } : {}),
      restarts: e.restarts,
      ...(e.startedAt ? { startedAt: new Date(e.startedAt).toISOString() } : {}),
      ...(e.lastExit ? { lastExit: e.lastExit } : {}),
      ...(e.nextStartAt ? { nextStartAt: new Date(e.nextStartAt).toISOString() } : {}),
    }));
  }

  /**
   * Starts a component: a new one from `spec`, or a known one (by name) that is not running. Resolves
   * with false when it was running already.
   */
  async start(what: ComponentSpec | string): Promise<boolean> {
    if (this.closing) throw new Error('the supervisor is shutting down');
    let entry: Entry;
    if (typeof what === 'string') entry = this.get(what);
    else {
      entry = this.entries.get(what.name) ?? { spec: what, state: 'stopped', restarts: 0, crashes: 0 };
      this.entries.set(what.name, entry);
    }
    if (entry.state === 'running' || entry.state === 'starting') return false;
    this.cancelRestart(entry);
    entry.crashes = 0;
    await this.spawn(entry);
    return true;
  }

  /** Stops a component on purpose (no restart); resolves with false when it was not running. */
  async stop(name: string): Promise<boolean> {
    const entry = this.get(name);
    this.cancelRestart(entry);
    const running = entry.state === 'running' || entry.state === 'starting';
    entry.state = 'stopped';
    this.report();
    if (!running) return false;
    await this.terminate(entry);
    return true;
  }

  /** Stops a component and forgets it (a deleted pod). */
  async remove(name: string): Promise<void> {
    const entry = this.get(name);
    await this.stop(entry.spec.name);
    this.entries.delete(entry.spec.name);
    this.report();
  }

  /**
   * Stops everything: pods first (they close their connections while the mesh still runs), and of
   * those the pure clients first, so that an endpoint going at the same time does not make a
   * client heal (and take its interfaces again) while it closes.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    const serves = (e: Entry) => e.spec.env['NSM_SERVICE_NAMES'] !== undefined;
    const steps: ((e: Entry) => boolean)[] = [
      (e) => e.spec.kind === 'pod' && !serves(e),
      ...(['pod', 'forwarder', 'emulator', 'manager', 'registry'] as const).map(
        (kind) => (e: Entry) => e.spec.kind === kind,
      ),
    ];
    for (const step of steps) {
      const names = [...this.entries.values()].filter(step).map((e) => e.spec.name);
      await Promise.all(names.map((n) => this.stop(n)));
    }
  }

  private get(name: string): Entry {
    const entry = this.entries.get(name) ?? this.entries.get(`pod/${name}`);
    if (!entry) {
      const known = [...this.entries.keys()].map((n) => n.replace(/^pod\//, '')).join(', ');
      throw new UnknownComponentError(`no component or pod "${name}"; known: ${known}`);
    }
    return entry;
  }

  private async spawn(entry: Entry): Promise<void> {
    const { spec } = entry;
    entry.state = 'starting';
    entry.nextStartAt = undefined;
    if (this.options.beforeStart) {
      try {
        await this.options.beforeStart(spec);
      } catch (err) {
        this.options.log.error({ component: spec.name, err: String(err) }, 'cannot prepare the start');
      }
    }
    const fd = openSync(spec.log, 'a');
    let child: ChildProcess;
    try {
      child = spawn('ip', ['netns', 'exec', spec.netns, process.execPath, spec.script], {
        stdio: ['ignore', fd, fd],
        env: { ...process.env, ...spec.env, NSM_LAB: this.options.lab, NSM_LAB_COMPONENT: spec.name },
      });
    } finally {
      closeSync(fd);
    }
    entry.child = child;
    entry.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => this.exited(entry, child, code, signal));
    await new Promise<void>((resolve, reject) => {
      child.once('error', (err) => {
        entry.state = 'failed';
        this.options.log.error({ component: spec.name, err: err.message }, 'cannot start');
        this.report();
        reject(new Error(`cannot start ${spec.name}: ${err.message}`));
      });
      child.once('spawn', () => {
        entry.state = 'running';
        entry.startedAt = Date.now();
        this.options.log.info({ component: spec.name, pid: child.pid }, 'started');
        this.report();
        resolve();
        this.options
          .afterStart?.(spec)
          .catch((err: unknown) =>
            this.options.log.warn({ component: spec.name, err: String(err) }, 'after-start step failed'),
          );
      });
    });
  }

  private exited(entry: Entry, child: ChildProcess, code: number | null, signal: string | null): void {
    if (entry.child !== child) return;
    entry.child = undefined;
    entry.lastExit = { code, signal, at: new Date().toISOString() };
    const ranMs = Date.now() - (entry.startedAt ?? Date.now());
    if (entry.state === 'stopped' || this.closing) {
      entry.state = 'stopped';
      this.report();
      return;
    }
    const failed = code !== 0;
    const again = entry.spec.restart === 'Always' || (entry.spec.restart === 'OnFailure' && failed);
    this.options.log[failed ? 'warn' : 'info'](
      { component: entry.spec.name, code, signal, ranMs, restart: again },
      'exited',
    );
    if (!again) {
      entry.state = 'failed';
      this.report();
      return;
    }
    entry.crashes = ranMs >= HEALTHY_AFTER_MS ? 1 : entry.crashes + 1;
    // The first restart is at once (a kubelet's is too); a crash loop backs off up to 10 s.
    const delay = entry.crashes <= 1 ? 0 : backoffDelay(entry.crashes - 1, { initialMs: 200, maxMs: 10_000 });
    entry.state = 'backoff';
    entry.nextStartAt = Date.now() + delay;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.state !== 'backoff' || this.closing) return;
      entry.restarts++;
      this.spawn(entry).catch(() => undefined);
    }, delay);
    this.report();
  }

  private cancelRestart(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.nextStartAt = undefined;
  }

  private async terminate(entry: Entry): Promise<void> {
    const child = entry.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), GRACE_MS);
    try {
      await entry.exited;
    } finally {
      clearTimeout(killer);
    }
  }

  /** Writes the report atomically. */
  report(): void {
    const report: SupervisorReport = {
      pid: process.pid,
      updatedAt: new Date().toISOString(),
      components: this.list(),
    };
    const file = this.options.reportFile;
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(report, null, 2));
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      this.options.log.warn({ err: String(err) }, 'writing the report failed');
    }
  }
}

/**
 * The user's containers of a pod, run by its role (NSM_POD_CONTAINERS, JSON: [{ name, command,
 * env }]) in the pod's network namespace, as kubelet runs a pod's containers beside the injected
 * mesh sidecar: each in its own process group, its output in `<NSM_CONTAINER_LOGS>.<name>.log`,
 * started again with a growing back-off (1 s doubling to 30 s, reset after 10 s up) when it exits,
 * as restartPolicy Always does. A stopped role stops them (SIGTERM to the group, SIGKILL after 3 s
 * or once its leader is gone).
 * A role killed outright leaves them behind; the next one kills what its predecessor left (they
 * carry their pod's mark), and `nsm down` finds them by the lab's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import type { Logger } from '@nsm-ts/sdk/core';

/** One container to run. */
export interface ContainerSpec {
  name: string;
  command: string[];
  env: Record<string, string>;
}

/** How a container is doing, for the pod's status file. */
export interface ContainerStatus {
  name: string;
  state: 'running' | 'backoff' | 'stopped';
  pid?: number;
  restarts: number;
  lastExit?: { code: number | null; signal: string | null; error?: string };
}

/** The running containers of a pod. */
export interface RunningContainers {
  status(): ContainerStatus[];
  stop(): Promise<void>;
}

/** Reads NSM_POD_CONTAINERS; a bad value is a problem naming the variable. */
export function readContainerSpecs(text: string | undefined, problems: string[]): ContainerSpec[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    const ok =
      Array.isArray(value) &&
      value.every(
        (c: unknown) =>
          typeof c === 'object' &&
          c !== null &&
          typeof (c as ContainerSpec).name === 'string' &&
          Array.isArray((c as ContainerSpec).command) &&
          (c as ContainerSpec).command.length > 0 &&
          (c as ContainerSpec).command.every((a) => typeof a === 'string'),
      );
    if (ok) return value as ContainerSpec[];
  } catch {
    // reported below
  }
  problems.push(
    'NSM_POD_CONTAINERS is not the JSON list expected: [{ "name": ..., "command": [...], "env": {...} }]',
  );
  return [];
}

const MARK = 'NSM_POD_CONTAINER';

/** Kills what a previous run of this pod's role left running (marked `NSM_POD_CONTAINER=<pod>/...`). */
function killLeftovers(pod: string, log: Logger): void {
  const prefix = `${MARK}=${process.env['NSM_LAB'] ?? ''}/${pod}/`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (
        !readFileSync(`/proc/${entry}/environ`, 'latin1')
          .split('\0')
          .some((v) => v.startsWith(prefix))
      )
        continue;
      process.kill(Number(entry), 'SIGKILL');
      log.info({ pid: Number(entry) }, 'killed a container process a previous run of this pod left');
    } catch {
      // gone, or not ours
    }
  }
}

/** Starts `specs` for pod `pod`. */
export function runContainers(
  specs: readonly ContainerSpec[],
  o: { pod: string; log: Logger; logPrefix: string | undefined },
): RunningContainers {
  killLeftovers(o.pod, o.log);
  let stopping = false;
  const entries = specs.map((spec) => {
    const status: ContainerStatus = { name: spec.name, state: 'backoff', restarts: 0 };
    return {
      spec,
      status,
      child: undefined as ChildProcess | undefined,
      timer: undefined as NodeJS.Timeout | undefined,
      backoffMs: 1000,
      startedAt: 0,
    };
  });
  const start = (e: (typeof entries)[number]): void => {
    e.timer = undefined;
    if (stopping) return;
    const logFile = o.logPrefix ? `${o.logPrefix}.${e.spec.name}.log` : undefined;
    const fd = logFile ? openSync(logFile, 'a') : 'ignore';
    const [cmd = '', ...args] = e.spec.command;
    const lab = process.env['NSM_LAB'] ?? '';
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: {
        PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        HOSTNAME: o.pod,
        ...e.spec.env,
        NSM_LAB: lab,
        NSM_LAB_COMPONENT: `pod/${o.pod}/${e.spec.name}`,
        [MARK]: `${lab}/${o.pod}/${e.spec.name}`,
      },
    });
    if (typeof fd === 'number') closeSync(fd);
    e.child = child;
    e.startedAt = Date.now();
    let failed: string | undefined;
    child.on('error', (err) => (failed = err.message));
    child.on('spawn', () => {
      e.status = { ...e.status, state: 'running', ...(child.pid ? { pid: child.pid } : {}) };
      o.log.info({ container: e.spec.name, pid: child.pid, command: e.spec.command }, 'container started');
    });
    child.on('close', (code, signal) => {
      e.child = undefined;
      const { pid: _pid, ...rest } = e.status;
      const lastExit = { code, signal, ...(failed ? { error: failed } : {}) };
      if (stopping) {
        e.status = { ...rest, state: 'stopped', lastExit };
        return;
      }
      if (Date.now() - e.startedAt > 10_000) e.backoffMs = 1000;
      e.status = { ...rest, state: 'backoff', restarts: e.status.restarts + 1, lastExit };
      o.log.warn(
        { container: e.spec.name, code, signal, error: failed, retryInMs: e.backoffMs },
        'container exited: starting it again after a back-off',
      );
      e.timer = setTimeout(() => start(e), e.backoffMs);
      e.backoffMs = Math.min(e.backoffMs * 2, 30_000);
    });
  };
  for (const e of entries) start(e);
  return {
    status: () => entries.map((e) => ({ ...e.status })),
    async stop() {
      stopping = true;
      const running = entries.filter((e) => e.child?.pid !== undefined);
      for (const e of entries) clearTimeout(e.timer);
      const exited = running.map((e) => new Promise<void>((r) => e.child!.once('close', () => r())));
      const group = (sig: NodeJS.Signals) => {
        for (const e of running)
          try {
            process.kill(-e.child!.pid!, sig);
          } catch {
            // gone already
          }
      };
      group('SIGTERM');
      const timer = setTimeout(() => group('SIGKILL'), 3000);
      await Promise.all(exited);
      clearTimeout(timer);
      // The leaders are gone; what of their groups ignored SIGTERM goes now.
      group('SIGKILL');
    },
  };
}

/**
 * What the `nsc` and `nse` commands share: the pod's name, logger, manager URL and status file from
 * the environment, its identity (NSM_IDENTITY_DIR, SPIFFE_ENDPOINT_SOCKET or NSM_INSECURE), a bad
 * configuration refused with every problem and the usage (exit 2), and a stop on SIGTERM/SIGINT that
 * closes what the command holds.
 */
import { createLogger, type Logger } from '@nsm-ts/sdk/core';
import { EnvReader } from '@nsm-ts/sdk/tools';
import { readSecurityEnv, setupSecurity, SECURITY_USAGE, type Security } from '@nsm-ts/sdk/security';
import { readContainerSpecs, runContainers, type RunningContainers } from './containers.js';
import { writePodStatus, type PodStatus } from './status-file.js';

/** The environment both commands read. */
export const COMMON_USAGE = `  NSM_NAME / POD_NAME     this workload's name (default: the host name)
  NSM_CONNECT_TO          the node's manager (default unix:///var/lib/networkservicemesh/nsm.io.sock)
  NSM_LOG_LEVEL           trace, debug, info, warn, error, fatal or silent (default info)
  NSM_POD_STATUS          a file to keep the status of the connections in (the lab's nsm status reads it)
  NSM_POD_CONTAINERS      the pod's own containers to run beside this one, JSON
                          [{ "name", "command": [...], "env": {...} }] (the lab sets it)
  NSM_CONTAINER_LOGS      their log files: <this>.<container>.log
${SECURITY_USAGE}`;

/** A running pod program. */
export interface PodRuntime {
  /** NSM_NAME, else the pod's name: the client's or endpoint's name in the mesh. */
  name: string;
  /** The pod's name (POD_NAME, else `name`): its status file and log say it. */
  pod: string;
  log: Logger;
  managerUrl: string;
  status: PodStatus;
  /** Writes the status file (after the `onSave` hooks brought it up to date). */
  save: () => void;
  /** Adds a hook that updates the status just before each save. */
  onSave: (hook: (status: PodStatus) => void) => void;
  security: Security;
  /** The pod's own containers (NSM_POD_CONTAINERS), run beside the role; stopped with it. */
  containers: RunningContainers | undefined;
}

/** Prints `usage` on --help (exit 0); on `problems` prints them and the usage and exits 2. */
export function checkArgs(command: string, usage: string, problems: string[]): void {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(usage);
    process.exit(0);
  }
  if (problems.length > 0) {
    process.stderr.write(`${command}: bad configuration:\n  ${problems.join('\n  ')}\n\n${usage}`);
    process.exit(2);
  }
}

/** Reads the common environment; `problems` gets what is wrong with it. */
export function readCommon(env: NodeJS.ProcessEnv, problems: string[]) {
  const reader = new EnvReader(env);
  const security = readSecurityEnv(reader);
  problems.push(...reader.errors);
  const name = env['NSM_NAME'] ?? env['POD_NAME'] ?? env['HOSTNAME'] ?? 'workload';
  return {
    name,
    pod: env['POD_NAME'] ?? name,
    logLevel: env['NSM_LOG_LEVEL'] ?? 'info',
    managerUrl: env['NSM_CONNECT_TO'] ?? 'unix:///var/lib/networkservicemesh/nsm.io.sock',
    statusFile: env['NSM_POD_STATUS'],
    containers: readContainerSpecs(env['NSM_POD_CONTAINERS'], problems),
    containerLogs: env['NSM_CONTAINER_LOGS'],
    security,
  };
}

/** Starts the runtime for `role`: logger, status file, identity. */
export async function startRuntime(
  common: ReturnType<typeof readCommon>,
  role: PodStatus['role'],
): Promise<PodRuntime> {
  const log = createLogger(common.pod, common.logLevel);
  const status: PodStatus = { pod: common.pod, pid: process.pid, role, requests: [], updatedAt: '' };
  const security = await setupSecurity(common.security, { name: common.pod, log });
  const hooks: ((status: PodStatus) => void)[] = [];
  const containers =
    common.containers.length > 0 && !process.argv.includes('--once')
      ? runContainers(common.containers, { pod: common.pod, log, logPrefix: common.containerLogs })
      : undefined;
  if (containers) hooks.push((s) => void (s.containers = containers.status()));
  return {
    name: common.name,
    pod: common.pod,
    log,
    managerUrl: common.managerUrl,
    status,
    save: () => {
      for (const hook of hooks) hook(status);
      writePodStatus(common.statusFile, status);
    },
    onSave: (hook) => void hooks.push(hook),
    security,
    containers,
  };
}

/** Keeps the process (and its status file) alive until SIGTERM/SIGINT, then runs `stop` and exits. */
export function serveUntilStopped(runtime: PodRuntime, stop: () => Promise<void>): void {
  runtime.save();
  // The SDK's timers never hold a process; this one does (a pod lives until stopped) and keeps the status fresh.
  const keepAlive = setInterval(runtime.save, 5000);
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      clearInterval(keepAlive);
      runtime.log.info({ signal }, 'stopping');
      const all = async () => {
        try {
          await stop();
        } finally {
          await runtime.containers?.stop();
        }
      };
      all().then(
        () => process.exit(0),
        (err: unknown) => {
          runtime.log.error({ err }, 'stopping failed');
          process.exit(1);
        },
      );
    });
  }
}

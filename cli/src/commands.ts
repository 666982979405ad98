/** The actions behind each `nsm` subcommand; main.ts only declares the command line. */
import { ManifestError } from './manifests/manifests.js';
import { check } from './lab/check.js';
import { startProcess, stopProcess } from './lab/control.js';
import { deletePod } from './lab/delete.js';
import { down } from './lab/down.js';
import { inspect } from './lab/inspect.js';
import { Lab, type LabState } from './lab/lab.js';
import { LabPreconditionError, requireRoot } from './lab/system.js';
import { up, UpInterruptedError } from './lab/up.js';
import { checkTable, clusterStatusText, statusText } from './status-view.js';
import { KubeConfig } from '@kubernetes/client-node';
import { fileIdentity, securityOf } from '@nsm-ts/sdk/security';
import { issueFromCluster } from './cluster/identity.js';
import { clusterStatus } from './cluster/status.js';
import { formatDuration, parseDuration } from '@nsm-ts/sdk/tools';
import { issueIdentity } from './lab/issue.js';

const out = (text: string): void => void process.stdout.write(text);
const err = (text: string): void => void process.stderr.write(text);

/** A bad option value: `nsm` prints it and exits 2 before doing anything. */
export class UsageError extends LabPreconditionError {}

/** The log levels of the daemons and pods (pino's). */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The state of a lab that is up; throws, saying how to bring it up, when it is not. */
export function runningState(lab: Lab): LabState {
  const state = lab.readState();
  if (!state) throw new Error(`lab "${lab.name}" is not up: start it with "nsm${lab.flag} up <manifests>"`);
  return state;
}

function duration(flag: string, text: string, atLeastMs = 0): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    throw new UsageError(`${flag} ${text}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (ms < atLeastMs) throw new UsageError(`${flag} ${text}: expected at least ${formatDuration(atLeastMs)}`);
  return ms;
}

function upOptions(opts: UpFlags): {
  nodes: number;
  timeoutMs: number;
  certLifetimeMs: number;
} {
  const nodes = Number(opts.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 200)
    throw new UsageError(`--nodes ${opts.nodes}: expected an integer from 1 to 200`);
  if (!LOG_LEVELS.includes(opts.logLevel))
    throw new UsageError(`--log-level ${opts.logLevel}: expected one of ${LOG_LEVELS.join(', ')}`);
  return {
    nodes,
    timeoutMs: duration('--timeout', opts.timeout),
    // Renewed at two thirds: a lifetime under 30 s would have the supervisor issue all the time.
    certLifetimeMs: duration('--cert-lifetime', opts.certLifetime, 30_000),
  };
}

/** The options of `nsm up`. */
export interface UpFlags {
  nodes: string;
  timeout: string;
  logLevel: string;
  insecure?: boolean;
  certLifetime: string;
}

/** `nsm up`. Exit code 0 when every connection is up, 1 otherwise; Ctrl-C removes a half-built lab. */
export async function upCommand(paths: string[], opts: UpFlags & { lab: string }): Promise<number> {
  const { nodes, timeoutMs, certLifetimeMs } = upOptions(opts);
  const lab = new Lab(opts.lab);
  const interrupt = new AbortController();
  const onSignal = (): void => {
    err('nsm up: interrupted\n');
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await up({
      paths,
      nodes,
      lab: opts.lab,
      timeoutMs,
      logLevel: opts.logLevel,
      progress: (line) => err(`nsm up: ${line}\n`),
      signal: interrupt.signal,
      insecure: opts.insecure === true,
      certLifetimeMs,
    });
    const next = `nsm${lab.flag} status | nsm${lab.flag} check | nsm${lab.flag} down`;
    if (interrupt.signal.aborted) {
      err(`nsm up: lab "${lab.name}" is built but not every connection was up yet. Next: ${next}\n`);
      return 130;
    }
    if (result.pending.length > 0) {
      err(`nsm up: ${result.pending.length} endpoint(s) or connection(s) not ready:\n`);
      for (const p of result.pending)
        err(`  ${p.pod}${p.ifname ? `/${p.ifname}` : ''} (${p.service}): ${p.error ?? 'still pending'}\n`);
      err(`see "nsm${lab.flag} logs <pod>" and "nsm${lab.flag} status"\n`);
      return 1;
    }
    err(`nsm up: lab "${lab.name}" is up. Next: ${next}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ManifestError) {
      err(`nsm up: the manifests are not valid; nothing was created:\n${e.message}\n`);
      return 2;
    }
    if (e instanceof UpInterruptedError) {
      err(`nsm up: ${e.message}\n`);
      return 130;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `nsm status`. */
export async function statusCommand(opts: { lab: string; json?: boolean }): Promise<number> {
  requireRoot('nsm status', "it reads the lab's sockets under /run/nsm-lab");
  const lab = new Lab(opts.lab);
  const status = await inspect(lab, runningState(lab));
  out(opts.json ? JSON.stringify(status, null, 2) + '\n' : statusText(status));
  return 0;
}

/** The flags of `nsm status`. */
export interface StatusFlags {
  json?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace: string;
  managerPort: string;
  identity?: string;
}

/** The kubeconfig of `--kubeconfig` at `--context`; UsageError names what is wrong. */
function loadKubeConfig(file: string, context: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(file);
  } catch (err) {
    throw new UsageError(`--kubeconfig ${file}: ${(err as Error).message}`);
  }
  if (context) {
    if (!kubeConfig.getContextObject(context))
      throw new UsageError(
        `--context ${context}: not in ${file}; expected one of ${kubeConfig
          .getContexts()
          .map((c) => c.name)
          .join(', ')}`,
      );
    kubeConfig.setCurrentContext(context);
  }
  return kubeConfig;
}

/** `nsm status --kubeconfig`: a cluster's mesh. */
export async function clusterStatusCommand(opts: StatusFlags): Promise<number> {
  const port = Number(opts.managerPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--manager-port ${opts.managerPort}: expected a port from 1 to 65535`);
  const kubeConfig = loadKubeConfig(opts.kubeconfig!, opts.context);
  const identity = opts.identity ? await fileIdentity({ dir: opts.identity }) : undefined;
  try {
    const status = await clusterStatus({
      kubeConfig,
      namespace: opts.namespace,
      managerPort: port,
      security: securityOf(identity, { name: 'nsm' }),
    });
    out(opts.json ? JSON.stringify(status, null, 2) + '\n' : clusterStatusText(status));
    return 0;
  } catch (err) {
    const e = err as { code?: number; body?: unknown; message: string };
    throw new Error(
      `cannot read the mesh of ${kubeConfig.getCurrentCluster()?.server ?? 'the cluster'}: ${e.code ? `${e.code} ` : ''}${e.message}`,
      { cause: err },
    );
  } finally {
    identity?.close();
  }
}

/** `nsm check`. Exit code 0 only when every link passes. */
export async function checkCommand(opts: { lab: string; json?: boolean }): Promise<number> {
  requireRoot('nsm check', "it sends pings from inside the pods' namespaces");
  const lab = new Lab(opts.lab);
  const state = runningState(lab);
  const status = await inspect(lab, state);
  const results = await check(lab, state, status);
  const failed = results.filter((r) => !r.ok).length;
  const note = status.registryError
    ? `the registry cannot be read (${status.registryError}); peers were verified by traffic and MAC only`
    : undefined;
  if (opts.json)
    out(JSON.stringify({ ok: failed === 0, links: results, ...(note ? { note } : {}) }, null, 2) + '\n');
  else
    out(
      checkTable(results) +
        `\n${results.length - failed} of ${results.length} links pass${note ? `\nnote: ${note}` : ''}\n`,
    );
  return failed === 0 && results.length > 0 ? 0 : 1;
}

/** `nsm down`. */
export async function downCommand(opts: { lab: string }): Promise<number> {
  requireRoot('nsm down', 'it removes network namespaces and stops root processes');
  const result = await down(new Lab(opts.lab));
  for (const report of result.sriov) err(`nsm down: SR-IOV ${report}\n`);
  err(`nsm down: stopped ${result.processes} processes, removed ${result.namespaces.length} namespaces\n`);
  return 0;
}

/** `nsm stop <name>` / `nsm start <name>`. */
export async function controlCommand(
  action: 'stop' | 'start',
  name: string,
  opts: { lab: string },
): Promise<number> {
  requireRoot(`nsm ${action}`, 'the lab runs as root');
  const lab = new Lab(opts.lab);
  runningState(lab);
  const changed = action === 'stop' ? await stopProcess(lab, name) : await startProcess(lab, name);
  const did = action === 'stop' ? 'stopped' : 'started';
  err(
    `nsm ${action}: ${name} ${changed ? did : `was already ${action === 'stop' ? 'stopped' : 'running'}`}\n`,
  );
  return 0;
}

/** `nsm delete <pod>`. */
export async function deleteCommand(name: string, opts: { lab: string }): Promise<number> {
  requireRoot('nsm delete', 'it removes network namespaces and stops root processes');
  const lab = new Lab(opts.lab);
  await deletePod(lab, runningState(lab), name);
  err(`nsm delete: pod ${name} deleted (process, namespace and registration gone)\n`);
  return 0;
}

/** `nsm identity <id> --out <dir>`: an identity from the lab's CA for a workload the lab did not start. */
export async function identityCommand(
  id: string,
  opts: {
    lab: string;
    out: string;
    lifetime: string;
    kubeconfig?: string;
    context?: string;
    caSecret: string;
  },
): Promise<number> {
  const lifetimeMs = duration('--lifetime', opts.lifetime, 30_000);
  if (opts.kubeconfig) {
    let issued;
    try {
      issued = await issueFromCluster(loadKubeConfig(opts.kubeconfig, opts.context), {
        secret: opts.caSecret,
        text: id,
        dir: opts.out,
        lifetimeMs,
      });
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError((err as Error).message);
    }
    err(
      `nsm identity: issued ${issued.id} from the cluster's CA (Secret ${opts.caSecret}), valid until ${new Date(issued.notAfter).toISOString()}\n` +
        `  ${issued.dir}/svid.pem, svid_key.pem, svid_bundle.pem (mode 0600)\n` +
        `  use it: nsm status --kubeconfig ${opts.kubeconfig} --identity ${issued.dir}, or NSM_IDENTITY_DIR=${issued.dir}\n`,
    );
    return 0;
  }
  requireRoot('nsm identity', "it signs with the lab's CA key under /run/nsm-lab");
  const lab = new Lab(opts.lab);
  runningState(lab);
  const issued = await issueIdentity(lab, id, opts.out, lifetimeMs);
  err(
    `nsm identity: issued ${issued.id}, valid until ${new Date(issued.notAfter).toISOString()}\n` +
      `  ${issued.dir}/svid.pem, svid_key.pem, svid_bundle.pem (mode 0600)\n` +
      `  use it: NSM_IDENTITY_DIR=${issued.dir} in your NSC or NSE, or fileIdentity({ dir }) with the SDK;\n` +
      `  run "nsm${lab.flag} identity ${id} --out ${opts.out}" again before it expires (the SDK picks up new files)\n`,
  );
  return 0;
}

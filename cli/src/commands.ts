/** The actions behind each `nsm` subcommand; main.ts only declares the command line. */
import { readFileSync, existsSync } from 'node:fs';
import { ManifestError } from './manifests/manifests.js';
import { check, type LinkCheck } from './lab/check.js';
import { startProcess, stopProcess } from './lab/control.js';
import { down } from './lab/down.js';
import { inspect, type LabStatus } from './lab/inspect.js';
import { Lab, type LabState } from './lab/lab.js';
import { up } from './lab/up.js';
import { table } from './format.js';
import { parseDuration } from '../../sdk/src/tools/duration.js';

const out = (text: string): void => void process.stdout.write(text);
const err = (text: string): void => void process.stderr.write(text);

function runningState(lab: Lab): LabState {
  const state = lab.readState();
  if (!state) throw new Error(`lab "${lab.name}" is not up: start it with "nsm up <manifests>"`);
  return state;
}

/** `nsm up`. Exit code 0 when every connection is up, 1 otherwise. */
export async function upCommand(
  paths: string[],
  opts: { nodes: string; lab: string; timeout: string; logLevel: string },
): Promise<number> {
  const nodes = Number(opts.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 200)
    throw new Error(`--nodes ${opts.nodes}: expected an integer from 1 to 200`);
  try {
    const result = await up({
      paths,
      nodes,
      lab: opts.lab,
      timeoutMs: parseDuration(opts.timeout),
      logLevel: opts.logLevel,
      progress: (line) => err(`nsm up: ${line}\n`),
    });
    if (result.pending.length > 0) {
      err(`nsm up: ${result.pending.length} endpoint(s) or connection(s) not ready:\n`);
      for (const p of result.pending)
        err(`  ${p.pod}${p.ifname ? `/${p.ifname}` : ''} (${p.service}): ${p.error ?? 'still pending'}\n`);
      err(`see "nsm logs <pod>" and "nsm status"\n`);
      return 1;
    }
    err(`nsm up: lab "${opts.lab}" is up. Next: nsm status | nsm check | nsm down\n`);
    return 0;
  } catch (e) {
    if (e instanceof ManifestError) {
      err(`nsm up: the manifests are not valid; nothing was created:\n${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

function printStatus(status: LabStatus): void {
  if (status.registryError)
    out(
      `warning: the registry cannot be read (${status.registryError}); endpoints and services are not shown\n\n`,
    );
  out(
    table(
      ['NODE', 'TUNNEL IP', 'NETNS'],
      status.nodes.map((n) => [n.name, n.tunnelIp, n.netns]),
    ) + '\n',
  );
  out(
    table(
      ['POD', 'NODE', 'ROLE', 'NETNS'],
      status.pods.map((p) => [p.name, p.node, p.role, p.netns]),
    ) + '\n',
  );
  out(
    table(
      ['NETWORK SERVICE', 'PAYLOAD', 'MATCHES'],
      status.services.map((s) => [s.name, s.payload, String(s.matches.length)]),
    ) + '\n',
  );
  out(
    table(
      ['ENDPOINT', 'SERVICES', 'URL', 'EXPIRES'],
      status.endpoints.map((e) => [
        e.name,
        e.network_service_names.join(','),
        e.url,
        e.expiration_time ? new Date(Number(e.expiration_time.seconds) * 1000).toISOString() : '',
      ]),
    ) + '\n',
  );
  out(
    table(
      ['CLIENT', 'IF', 'ADDRESS', 'ENDPOINT', 'IF', 'ADDRESS', 'SERVICE', 'LABELS', 'MECH', 'WHERE', 'STATE'],
      status.links.map((l) => [
        l.client,
        l.clientInterface,
        l.clientIps.join(','),
        l.chain.join('→'),
        l.endpointInterface,
        l.endpointIps.join(','),
        l.service,
        Object.entries(l.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
        l.mechanism,
        l.locality,
        l.state,
      ]),
    ),
  );
}

/** `nsm status`. */
export async function statusCommand(opts: { lab: string; json?: boolean }): Promise<number> {
  const lab = new Lab(opts.lab);
  const status = await inspect(lab, runningState(lab));
  if (opts.json) out(JSON.stringify(status, null, 2) + '\n');
  else printStatus(status);
  return 0;
}

/** The link table of `nsm check` and the main job. */
export function checkTable(results: LinkCheck[]): string {
  return table(
    ['CLIENT', 'IF', 'ADDRESS', '', 'ENDPOINT', 'IF', 'ADDRESS', 'WHERE', 'RESULT'],
    results.map((r) => [
      r.client,
      r.clientInterface,
      r.clientIp,
      '→',
      r.endpoint,
      r.endpointInterface,
      r.endpointIp,
      r.locality,
      r.ok ? 'ok' : `FAIL: ${r.problems.join('; ')}`,
    ]),
  );
}

/** `nsm check`. Exit code 0 only when every link passes. */
export async function checkCommand(opts: { lab: string; json?: boolean }): Promise<number> {
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

/** `nsm logs`. */
export function logsCommand(name: string, opts: { lab: string }): number {
  const lab = new Lab(opts.lab);
  const candidates = [lab.log(name), lab.log(`pod-${name}`)];
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    const state = lab.readState();
    const known = state
      ? [
          'registry',
          ...state.nodes.flatMap((n) => [`nsmgr-${n.name}`, `forwarder-${n.name}`]),
          ...state.pods.map((p) => p.name),
        ]
      : [];
    throw new Error(
      `no logs for "${name}"${known.length ? `; known: ${known.join(', ')}` : `: lab "${lab.name}" is not up`}`,
    );
  }
  out(readFileSync(file, 'utf8'));
  return 0;
}

/** `nsm down`. */
export async function downCommand(opts: { lab: string }): Promise<number> {
  const result = await down(new Lab(opts.lab));
  err(`nsm down: stopped ${result.processes} processes, removed ${result.namespaces.length} namespaces\n`);
  return 0;
}

/** `nsm stop <name>` / `nsm start <name>`. */
export async function controlCommand(
  action: 'stop' | 'start',
  name: string,
  opts: { lab: string },
): Promise<number> {
  const lab = new Lab(opts.lab);
  const state = runningState(lab);
  const changed =
    action === 'stop' ? await stopProcess(lab, state, name) : await startProcess(lab, state, name);
  err(
    `nsm ${action}: ${name} ${changed ? (action === 'stop' ? 'stopped' : 'started') : `was already ${action === 'stop' ? 'stopped' : 'running'}`}\n`,
  );
  return 0;
}

/**
 * `nsm up`: validates every manifest first, then builds the lab — fabric and nodes, the supervisor,
 * the registry, a manager and a forwarder per node, the NetworkServices, the pods — and waits until
 * every requested connection is up, reporting progress and, at the end, which connections are not
 * up and why. Interrupted or failed half way, it removes what it built.
 */
import { loadManifests, roleOf, type LabPlan } from '../manifests/manifests.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { emulatorSpec, nodeSpecs, registrySpec, sriovPaths, startDaemon, startEmulator } from './daemons.js';
import { objectsOf, writeApplied } from './apply/applied.js';
import { down } from './down.js';
import { createLabCa, DEFAULT_CERT_LIFETIME_MS } from './identities.js';
import { Lab, type LabState } from './lab.js';
import { pendingOf, type PendingConnection } from './pending.js';
import { podSpec } from './pods.js';
import { registerServices } from './services.js';
import { addComponent, startSupervisor } from './supervisor/control.js';
import { listNetns, requireRoot, requireTools } from './system.js';
import { cableHosts, createFabric, createPodNamespaces, tunnelIp, type HostCable } from './topology.js';

export type { PendingConnection } from './pending.js';

/** The fabric hosts among `pods`, as cables to lay. */
export function hostsOf(pods: LabPlan['pods']): HostCable[] {
  return pods.flatMap((p) => (p.host ? [{ name: p.name, ...p.host }] : []));
}

/** Options of `up`. */
export interface UpOptions {
  paths: string[];
  nodes: number;
  lab: string;
  /** How long to wait for the connections (default 60 s). */
  timeoutMs?: number;
  logLevel?: string;
  /** Progress lines. */
  progress: (line: string) => void;
  /** Aborted (Ctrl-C): building stops and what was built is removed. */
  signal?: AbortSignal;
  /** Run without mTLS and policies (default false: a mesh CA, identities, mTLS, policies). */
  insecure?: boolean;
  /** Lifetime of the certificates issued to components (default 24 h; renewed at 2/3). */
  certLifetimeMs?: number;
}

/** The outcome of `up`. */
export interface UpResult {
  plan: LabPlan;
  pending: PendingConnection[];
}

/** Thrown when `up` was interrupted; what it had built is removed by then. */
export class UpInterruptedError extends Error {
  override readonly name = 'UpInterruptedError';
}

/** What the lab's state records of a pod. */
export function podStateOf(lab: Lab, p: LabPlan['pods'][number]): LabState['pods'][number] {
  return {
    name: p.name,
    node: p.node,
    netns: lab.netns(p.external ? 'fabric' : p.name),
    role: roleOf(p),
    ...(p.host ? { address: p.host.address, ...(p.host.mtu ? { mtu: p.host.mtu } : {}) } : {}),
    ...(p.external?.checks.length ? { checks: p.external.checks } : {}),
    requests: roleOf(p) === 'client' ? p.client!.requests : [],
    ...(p.endpoint ? { endpoint: p.endpoint.name } : {}),
  };
}

function initialState(lab: Lab, plan: LabPlan, options: UpOptions): LabState {
  return {
    lab: lab.name,
    createdAt: new Date().toISOString(),
    manifests: options.paths,
    nodes: plan.nodes.map((name, i) => ({
      name,
      netns: lab.netns(name),
      tunnelIp: tunnelIp(i + 1),
      managerUrl: lab.socket(`nsmgr-${name}`),
    })),
    pods: plan.pods.map((p) => podStateOf(lab, p)),
    components: [],
    registryUrl: lab.socket('registry'),
    services: plan.services,
    secure: !options.insecure,
    certLifetimeMs: options.certLifetimeMs ?? DEFAULT_CERT_LIFETIME_MS,
  };
}

async function build(lab: Lab, plan: LabPlan, state: LabState, options: UpOptions): Promise<void> {
  const logLevel = options.logLevel ?? 'info';
  const step = (): void => {
    if (options.signal?.aborted) throw new UpInterruptedError('interrupted');
  };
  await createFabric(lab, plan.nodes, { physnet: plan.sriov !== undefined });
  options.progress(`created the fabric and ${plan.nodes.length} nodes (${plan.nodes.join(', ')})`);
  step();
  if (state.secure) {
    const ca = await createLabCa(lab);
    options.progress(
      `created the mesh CA for ${ca.trustDomain}: every component gets an X.509-SVID, mTLS and the policies are on`,
    );
  } else {
    options.progress('warning: --insecure: no mTLS and no token verification in this lab');
  }
  await startSupervisor(lab, logLevel);
  const registry = registrySpec(lab, logLevel, state.secure);
  state.components.push(registry);
  lab.writeState(state);
  await startDaemon(lab, registry, 'the registry');
  await registerServices(lab, plan.services);
  options.progress(`registry up; network services: ${plan.services.map((s) => s.name).join(', ')}`);
  if (plan.sriov) {
    const file = sriovPaths(lab, plan.nodes[0] ?? '').config;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, plan.sriov.text);
  }
  for (const [i, node] of plan.nodes.entries()) {
    step();
    if (plan.sriov) {
      const emulator = emulatorSpec(lab, node, plan.sriov);
      state.components.push(emulator);
      lab.writeState(state);
      await startEmulator(lab, emulator);
      options.progress(
        `${node}: emulated SR-IOV NICs (${plan.sriov.config.physicalFunctions.map((pf) => pf.address).join(', ')})`,
      );
    }
    const [manager, forwarder] = nodeSpecs(lab, node, i + 1, logLevel, state.secure, plan.sriov);
    state.components.push(manager!, forwarder!);
    lab.writeState(state);
    await startDaemon(lab, manager!, `the manager of ${node}`);
    await startDaemon(lab, forwarder!, `the forwarder of ${node}`);
    options.progress(`${node}: manager and forwarder up`);
  }
  step();
  await createPodNamespaces(
    lab,
    plan.pods.filter((p) => !p.external).map((p) => p.name),
  );
  await cableHosts(lab, hostsOf(plan.pods));
  // Fabric hosts (what lies outside the mesh) first; then endpoints, registered before the clients
  // ask: every client then chooses among all endpoints (its node's first) instead of the first one
  // that happened to register.
  await startPods(
    lab,
    state,
    plan.pods.filter((p) => p.host),
    logLevel,
    step,
  );
  const endpoints = plan.pods.filter((p) => p.endpoint);
  await startPods(lab, state, endpoints, logLevel, step);
  if (endpoints.length > 0) {
    await waitRegistered(lab, endpoints, options);
    options.progress(`started ${endpoints.length} endpoint pods`);
  }
  await startPods(
    lab,
    state,
    plan.pods.filter((p) => !p.endpoint && !p.host),
    logLevel,
    step,
  );
  options.progress(`started ${plan.pods.length} pods`);
}

export async function startPods(
  lab: Lab,
  state: LabState,
  pods: LabPlan['pods'],
  logLevel: string,
  step: () => void,
): Promise<void> {
  for (const pod of pods) {
    step();
    const spec = podSpec(lab, pod, logLevel, state.secure);
    state.components.push(spec);
    lab.writeState(state);
    await addComponent(lab, spec);
  }
}

/** Waits (up to 20 s; what is still missing is reported at the end) for the endpoints to register. */
export async function waitRegistered(
  lab: Lab,
  pods: LabPlan['pods'],
  options: Pick<UpOptions, 'timeoutMs' | 'signal'>,
): Promise<void> {
  const until = Date.now() + Math.min(20_000, options.timeoutMs ?? 60_000);
  while (Date.now() < until && !options.signal?.aborted) {
    if (pendingOf(lab, pods).length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until every endpoint registered and every requested connection is up, or the timeout. */
export async function settle(
  lab: Lab,
  plan: Pick<LabPlan, 'pods'>,
  options: Pick<UpOptions, 'timeoutMs' | 'progress' | 'signal'>,
): Promise<PendingConnection[]> {
  const total = plan.pods.reduce(
    (n, p) => n + (roleOf(p) === 'client' ? p.client!.requests.length : 0) + (p.endpoint ? 1 : 0),
    0,
  );
  const until = Date.now() + (options.timeoutMs ?? 60_000);
  let last = -1;
  let pending = pendingOf(lab, plan.pods);
  while (pending.length > 0 && Date.now() < until && !options.signal?.aborted) {
    if (total - pending.length !== last) {
      last = total - pending.length;
      options.progress(`endpoints registered and connections up: ${last}/${total}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    pending = pendingOf(lab, plan.pods);
  }
  options.progress(`endpoints registered and connections up: ${total - pending.length}/${total}`);
  return pending;
}

/** Brings a lab up. Throws on invalid manifests (nothing created) or when building the lab fails (it is removed again). */
export async function up(options: UpOptions): Promise<UpResult> {
  const plan = loadManifests(options.paths, { nodes: options.nodes });
  for (const warning of plan.warnings) options.progress(`warning: ${warning}`);
  requireRoot('nsm up', 'it creates network namespaces and interfaces');
  await requireTools();
  const lab = new Lab(options.lab);
  if (lab.readState() || (await listNetns()).some((n) => n.startsWith(lab.netnsPrefix))) {
    throw new Error(
      `lab "${lab.name}" is already up (or a crashed run left parts of it): run "nsm down${lab.flag}" first`,
    );
  }
  lab.makeDirs();
  const state = initialState(lab, plan, options);
  lab.writeState(state);
  // The objects it was given, for nsm apply and nsm delete -f to change.
  writeApplied(lab, objectsOf(options.paths));
  try {
    await build(lab, plan, state, options);
  } catch (err) {
    const interrupted = options.signal?.aborted === true;
    options.progress(
      interrupted
        ? 'interrupted: removing what was created'
        : `setting up the lab failed: ${err instanceof Error ? err.message : String(err)}; removing what was created`,
    );
    await down(lab);
    if (interrupted) throw new UpInterruptedError(`interrupted; lab "${lab.name}" was removed again`);
    throw err;
  }
  const pending = await settle(lab, plan, options);
  if (options.signal?.aborted) {
    options.progress('interrupted while waiting: the lab stays up');
  }
  return { plan, pending };
}

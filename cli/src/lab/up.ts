/**
 * `nsm up`: validates every manifest first, then builds the lab — fabric and nodes, registry, a manager
 * and a forwarder per node, the NetworkServices, the pods — and waits until every requested connection
 * is up, reporting progress and, at the end, which connections are not up and why.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkService } from '../../../sdk/src/api/types.js';
import { createContext } from '../../../sdk/src/core/context.js';
import { dial } from '../../../sdk/src/grpc/client.js';
import { loadManifests, roleOf, type LabPlan, type PodPlan } from '../manifests/manifests.js';
import type { PodStatus } from '../roles/status-file.js';
import { startNode, startRegistry } from './daemons.js';
import { down } from './down.js';
import { Lab, type LabState } from './lab.js';
import { startInNetns } from './processes.js';
import { scripts } from './scripts.js';
import { isRoot, listNetns } from './system.js';
import { createFabric, createPodNamespaces, tunnelIp } from './topology.js';

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
}

/** A requested connection that did not come up. */
export interface PendingConnection {
  pod: string;
  ifname: string;
  service: string;
  error?: string;
}

/** The outcome of `up`. */
export interface UpResult {
  plan: LabPlan;
  pending: PendingConnection[];
}

function podEnv(lab: Lab, pod: PodPlan): Record<string, string> {
  const env: Record<string, string> = {
    POD_NAME: pod.name,
    NODE_NAME: pod.node,
    CLUSTER_NAME: `lab-${lab.name}`,
    NSM_CONNECT_TO: lab.socket(`nsmgr-${pod.node}`),
    NSM_POD_STATUS: join(lab.podDir, `${pod.name}.json`),
  };
  if (pod.client) {
    env['NSM_NETWORK_SERVICES'] = pod.client.requests
      .map((r) => `kernel://${r.service}/${r.ifname}?${new URLSearchParams(r.labels).toString()}`)
      .join(',');
  }
  if (pod.endpoint) {
    env['NSM_NAME'] = pod.endpoint.name;
    env['NSM_SERVICE_NAMES'] = pod.endpoint.serviceNames.join(',');
    env['NSM_LABELS'] = Object.entries(pod.endpoint.labels)
      .map(([k, v]) => `${k}:${v}`)
      .join(',');
    env['NSM_CIDR_PREFIX'] = pod.endpoint.cidrPrefix.join(',');
    env['NSM_LISTEN_ON'] = lab.socket(`pod-${pod.name}`);
  }
  return env;
}

/** The status file of a pod, if it wrote one. */
export function readPodStatus(lab: Lab, pod: string): PodStatus | undefined {
  try {
    return JSON.parse(readFileSync(join(lab.podDir, `${pod}.json`), 'utf8')) as PodStatus;
  } catch {
    return undefined;
  }
}

function pendingOf(lab: Lab, plan: LabPlan): PendingConnection[] {
  const pending: PendingConnection[] = [];
  for (const pod of plan.pods) {
    const status = readPodStatus(lab, pod.name);
    if (pod.endpoint && !status?.endpoint) {
      pending.push({
        pod: pod.name,
        ifname: '',
        service: pod.endpoint.serviceNames.join(','),
        error: 'the endpoint has not registered yet',
      });
    }
    if (roleOf(pod) !== 'client') continue;
    for (const request of pod.client!.requests) {
      const seen = status?.requests.find((r) => r.ifname === request.ifname);
      if (seen?.state !== 'up') {
        pending.push({
          pod: pod.name,
          ifname: request.ifname,
          service: request.service,
          ...(seen?.error ? { error: seen.error } : {}),
        });
      }
    }
  }
  return pending;
}

/** Registers the lab's NetworkServices (after `up`, and again after a registry restart). */
export async function registerServices(lab: Lab, services: NetworkService[]): Promise<void> {
  const registry = dial(lab.socket('registry'));
  try {
    for (const service of services)
      await registry.serviceRegistry.register(createContext({ deadline: Date.now() + 5000 }), service);
  } finally {
    registry.close();
  }
}

/** Brings a lab up. Throws on invalid manifests (nothing created) or when building the lab fails (it is removed again). */
export async function up(options: UpOptions): Promise<UpResult> {
  const plan = loadManifests(options.paths, { nodes: options.nodes });
  for (const warning of plan.warnings) options.progress(`warning: ${warning}`);
  if (!isRoot()) throw new Error('nsm up needs root: it creates network namespaces and interfaces');
  const lab = new Lab(options.lab);
  if (lab.readState() || (await listNetns()).some((n) => n.startsWith(lab.netnsPrefix))) {
    throw new Error(
      `lab "${lab.name}" is already up (or a crashed run left parts of it): run "nsm down${lab.name === 'default' ? '' : ` --lab ${lab.name}`}" first`,
    );
  }
  const logLevel = options.logLevel ?? 'info';
  lab.makeDirs();
  const state: LabState = {
    lab: lab.name,
    createdAt: new Date().toISOString(),
    manifests: options.paths,
    nodes: plan.nodes.map((name, i) => ({
      name,
      netns: lab.netns(name),
      tunnelIp: tunnelIp(i + 1),
      managerUrl: lab.socket(`nsmgr-${name}`),
    })),
    pods: plan.pods.map((p) => ({
      name: p.name,
      node: p.node,
      netns: lab.netns(p.name),
      role: roleOf(p),
      requests: roleOf(p) === 'client' ? p.client!.requests : [],
    })),
    processes: [],
    registryUrl: lab.socket('registry'),
    services: plan.services,
  };
  lab.writeState(state);
  try {
    await createFabric(lab, plan.nodes);
    options.progress(`created the fabric and ${plan.nodes.length} nodes (${plan.nodes.join(', ')})`);
    state.processes.push(await startRegistry(lab, logLevel));
    await registerServices(lab, plan.services);
    options.progress(`registry up; network services: ${plan.services.map((s) => s.name).join(', ')}`);
    for (const [i, node] of plan.nodes.entries()) {
      state.processes.push(...(await startNode(lab, node, i + 1, logLevel)));
      lab.writeState(state);
      options.progress(`${node}: manager and forwarder up`);
    }
    await createPodNamespaces(
      lab,
      plan.pods.map((p) => p.name),
    );
    for (const pod of plan.pods) {
      state.processes.push(
        await startInNetns({
          name: `pod/${pod.name}`,
          netns: lab.netns(pod.name),
          script: scripts.pod,
          env: { ...podEnv(lab, pod), NSM_LOG_LEVEL: logLevel },
          log: lab.log(`pod-${pod.name}`),
          lab: lab.name,
        }),
      );
    }
    lab.writeState(state);
    options.progress(`started ${plan.pods.length} pods`);
  } catch (err) {
    options.progress(
      `setting up the lab failed: ${err instanceof Error ? err.message : String(err)}; removing what was created`,
    );
    await down(lab);
    throw err;
  }
  const total = plan.pods.reduce(
    (n, p) => n + (roleOf(p) === 'client' ? p.client!.requests.length : 0) + (p.endpoint ? 1 : 0),
    0,
  );
  const until = Date.now() + (options.timeoutMs ?? 60_000);
  let last = -1;
  let pending = pendingOf(lab, plan);
  while (pending.length > 0 && Date.now() < until) {
    if (total - pending.length !== last) {
      last = total - pending.length;
      options.progress(`endpoints registered and connections up: ${last}/${total}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    pending = pendingOf(lab, plan);
  }
  options.progress(`endpoints registered and connections up: ${total - pending.length}/${total}`);
  return { plan, pending };
}

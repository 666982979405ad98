/**
 * What the lab holds right now: its components as the supervisor runs them, each pod's state by its
 * process and its own report, endpoints and services from the registry, and the links the clients
 * hold, described with each manager's and endpoint's MonitorConnections view.
 */
import type { ContainerStatus } from '../roles/containers.js';
import { firstValueFrom, lastValueFrom, toArray, take, timeout } from 'rxjs';
import type { Connection, NetworkService, NetworkServiceEndpoint } from '@nsm-ts/sdk/api';
import { createContext } from '@nsm-ts/sdk/core';
import type { PodStatus } from '../roles/status-file.js';
import { labDial } from './identities.js';
import type { Lab, LabState } from './lab.js';
import { readPodInterfaces, type PodInterface } from './interfaces.js';
import { buildLinks, type LinkStatus } from './links.js';
import { readPodStatus } from './pending.js';
import { listComponents } from './supervisor/control.js';
import { type ComponentStatus, readSupervisorReport, shortName } from './supervisor/spec.js';

export type { LinkStatus } from './links.js';
export type { PodInterface } from './interfaces.js';

/** A pod as `nsm status` shows it. */
export interface PodRow {
  name: string;
  node: string;
  role: string;
  netns: string;
  /** `running`: up and all it asked for is up; `pending`: up, waiting; `failed`: crashed (restarting or given up); `stopped`: on purpose. */
  state: 'running' | 'pending' | 'failed' | 'stopped';
  pid?: number;
  restarts: number;
  /** What it waits for, and why. */
  pending: { service: string; ifname: string; reason: string }[];
  lastExit?: ComponentStatus['lastExit'];
  /** A client pod's heal metrics: `url` on the loopback of its namespace. */
  metrics?: { url: string; netns: string };
  /** The pod's own containers (its manifest's `command:`), run beside the role. */
  containers?: ContainerStatus[];
  /** A client pod's requests, held or not (its links are those it holds). */
  requests?: { service: string; ifname: string }[];
  /** Its kernel interfaces now, with addresses and counters (absent when its namespace cannot be read). */
  interfaces?: PodInterface[];
}

/**
 * A daemon as `nsm status` shows it; `metrics` is where it serves Prometheus metrics: `url` on the
 * loopback of the namespace `netns` (scrape it from there: `ip netns exec <name> curl <url>`).
 */
export type ComponentRow = Omit<ComponentStatus, 'netns'> & { metrics?: { url: string; netns: string } };

/** Where a daemon serves its metrics, from the NSM_METRICS_ADDR of its spec. */
function metricsOf(spec: LabState['components'][number] | undefined): ComponentRow['metrics'] {
  const addr = spec?.env['NSM_METRICS_ADDR'];
  return spec && addr ? { url: `http://${addr}/metrics`, netns: `/run/netns/${spec.netns}` } : undefined;
}

/** The lab as `nsm status` shows it. */
export interface LabStatus {
  lab: string;
  /** Whether the supervisor answered; without it the components' states are its last report. */
  supervisor: { running: boolean; error?: string };
  components: ComponentRow[];
  nodes: { name: string; netns: string; tunnelIp: string }[];
  pods: PodRow[];
  services: NetworkService[];
  endpoints: NetworkServiceEndpoint[];
  /** Set when the registry could not be read (services and endpoints are then empty). */
  registryError?: string;
  links: LinkStatus[];
}

const ctx = (): ReturnType<typeof createContext> => createContext({ deadline: Date.now() + 3000 });

async function initialState(lab: Lab, url: string): Promise<Connection[]> {
  const client = await labDial(lab, url, { dialTimeoutMs: 500 });
  try {
    const event = await firstValueFrom(
      client.monitor(ctx(), { path_segments: [], network_services: [] }).pipe(take(1), timeout(3000)),
    );
    return Object.values(event.connections);
  } catch {
    return [];
  } finally {
    client.close();
  }
}

async function registryRecords(
  lab: Lab,
): Promise<{ services: NetworkService[]; endpoints: NetworkServiceEndpoint[]; registryError?: string }> {
  const registry = await labDial(lab, lab.socket('registry'), { dialTimeoutMs: 500 });
  try {
    const nses = await lastValueFrom(
      registry.endpointRegistry.find(ctx(), { network_service_endpoint: null, watch: false }).pipe(toArray()),
    );
    const nss = await lastValueFrom(
      registry.serviceRegistry.find(ctx(), { network_service: null, watch: false }).pipe(toArray()),
    );
    return {
      services: nss.flatMap((r) => (r.network_service ? [r.network_service] : [])),
      endpoints: nses.flatMap((r) => (r.network_service_endpoint ? [r.network_service_endpoint] : [])),
    };
  } catch (err) {
    // The links may well still pass traffic: report the registry's state, not a failure of everything.
    return { services: [], endpoints: [], registryError: err instanceof Error ? err.message : String(err) };
  } finally {
    registry.close();
  }
}

async function components(lab: Lab): Promise<{ list: ComponentStatus[]; running: boolean; error?: string }> {
  try {
    return { list: await listComponents(lab), running: true };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return { list: readSupervisorReport(lab)?.components ?? [], running: false, error };
  }
}

/** A pod's report counts only when the process that wrote it is the one running now. */
function liveReport(lab: Lab, pod: string, component: ComponentStatus | undefined): PodStatus | undefined {
  if (component?.state !== 'running' || component.pid === undefined) return undefined;
  const report = readPodStatus(lab, pod);
  return report?.pid === component.pid ? report : undefined;
}

function podRow(
  pod: LabState['pods'][number],
  component: ComponentStatus | undefined,
  report: PodStatus | undefined,
): PodRow {
  const pending: PodRow['pending'] = [];
  if (pod.role !== 'client' && pod.role !== 'host' && !report?.endpoint)
    pending.push({ service: '', ifname: '', reason: 'the endpoint has not registered yet' });
  if (pod.role === 'client') {
    for (const request of pod.requests) {
      const seen = report?.requests.find((r) => r.ifname === request.ifname);
      if (seen?.state !== 'up')
        pending.push({
          service: request.service,
          ifname: request.ifname,
          reason: seen?.error ?? (seen?.state === 'healing' ? 'healing' : 'not requested yet'),
        });
    }
  }
  const state: PodRow['state'] =
    component?.state === 'stopped'
      ? 'stopped'
      : component?.state === 'failed' || component?.state === 'backoff'
        ? 'failed'
        : component?.state === 'running' && report && pending.length === 0
          ? 'running'
          : 'pending';
  return {
    name: pod.name,
    node: pod.node,
    role: pod.role,
    netns: `/run/netns/${pod.netns}`,
    state,
    ...(component?.state === 'running' && component.pid !== undefined ? { pid: component.pid } : {}),
    restarts: component?.restarts ?? 0,
    pending: component?.state === 'stopped' ? [] : pending,
    ...(component?.lastExit ? { lastExit: component.lastExit } : {}),
    ...(report?.containers && component?.state === 'running' ? { containers: report.containers } : {}),
    ...(pod.role === 'client'
      ? { requests: pod.requests.map(({ service, ifname }) => ({ service, ifname })) }
      : {}),
  };
}

/** Collects the status of a running lab. */
export async function inspect(lab: Lab, state: LabState): Promise<LabStatus> {
  // Endpoints the lab serves on a socket of its own (an external endpoint's gateway has no interfaces).
  const endpointPods = state.pods.filter(
    (p) => p.role !== 'client' && p.role !== 'host' && p.role !== 'external',
  );
  const [records, managerViews, endpointViews, supervised, podInterfaces] = await Promise.all([
    registryRecords(lab),
    Promise.all(state.nodes.map((n) => initialState(lab, n.managerUrl))),
    Promise.all(endpointPods.map((p) => initialState(lab, lab.socket(`pod-${p.name}`)))),
    components(lab),
    Promise.all(
      state.pods.map((p) =>
        p.role === 'external' ? Promise.resolve(undefined) : readPodInterfaces(`/run/netns/${p.netns}`),
      ),
    ),
  ]);
  const byName = new Map(supervised.list.map((c) => [shortName(c.name), c]));
  const held = new Map<string, PodStatus>();
  const pods = state.pods.map((pod, i) => {
    const component = byName.get(pod.name);
    const report = liveReport(lab, pod.name, component);
    if (report) held.set(pod.name, report);
    const metrics = metricsOf(state.components.find((spec) => spec.name === `pod/${pod.name}`));
    const interfaces = podInterfaces[i];
    return {
      ...podRow(pod, component, report),
      ...(metrics ? { metrics } : {}),
      ...(interfaces ? { interfaces } : {}),
    };
  });
  return {
    lab: lab.name,
    supervisor: { running: supervised.running, ...(supervised.error ? { error: supervised.error } : {}) },
    components: supervised.list
      .filter((c) => c.kind !== 'pod')
      .map(({ netns: _netns, ...row }) => {
        const metrics = metricsOf(state.components.find((spec) => spec.name === row.name));
        return { ...row, ...(metrics ? { metrics } : {}) };
      }),
    nodes: state.nodes.map(({ name, netns, tunnelIp }) => ({ name, netns: `/run/netns/${netns}`, tunnelIp })),
    pods,
    ...records,
    links: buildLinks(state, held, managerViews.flat(), endpointViews.flat(), (pod) => lab.netns(pod)),
  };
}

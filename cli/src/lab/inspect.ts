/**
 * What the lab holds right now, read from the mesh itself: endpoints and services from the registry,
 * connections from each manager's and endpoint's MonitorConnections stream, joined by path.
 */
import { firstValueFrom, lastValueFrom, toArray, take, timeout } from 'rxjs';
import type { Connection, NetworkService, NetworkServiceEndpoint } from '../../../sdk/src/api/types.js';
import { createContext } from '../../../sdk/src/core/context.js';
import { dial } from '../../../sdk/src/grpc/client.js';
import type { Lab, LabState } from './lab.js';

/** One connection of a client pod, as `nsm status` shows it. */
export interface LinkStatus {
  id: string;
  client: string;
  clientNode: string;
  clientInterface: string;
  clientIps: string[];
  /** The endpoint the path ends at (for a service chain, the last one). */
  endpoint: string;
  endpointNode: string;
  endpointInterface: string;
  endpointIps: string[];
  /** Every endpoint on the path, in order (passthrough elements first). */
  chain: string[];
  service: string;
  labels: Record<string, string>;
  mechanism: string;
  locality: 'local' | 'remote';
  state: string;
  pathLength: number;
}

/** The lab as `nsm status` shows it. */
export interface LabStatus {
  lab: string;
  nodes: { name: string; netns: string; tunnelIp: string }[];
  pods: { name: string; node: string; role: string; netns: string }[];
  services: NetworkService[];
  endpoints: NetworkServiceEndpoint[];
  /** Set when the registry could not be read (services and endpoints are then empty). */
  registryError?: string;
  links: LinkStatus[];
}

const ctx = (): ReturnType<typeof createContext> => createContext({ deadline: Date.now() + 3000 });

async function initialState(url: string): Promise<Connection[]> {
  const client = dial(url, { dialTimeoutMs: 500 });
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
  const registry = dial(lab.socket('registry'), { dialTimeoutMs: 500 });
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

/** Collects the status of a running lab. */
export async function inspect(lab: Lab, state: LabState): Promise<LabStatus> {
  const podNode = new Map(state.pods.map((p) => [p.name, p.node]));
  const endpointPods = state.pods.filter((p) => p.role !== 'client');
  const [records, managerViews, endpointViews] = await Promise.all([
    registryRecords(lab),
    Promise.all(state.nodes.map((n) => initialState(n.managerUrl))),
    Promise.all(endpointPods.map((p) => initialState(lab.socket(`pod-${p.name}`)))),
  ]);
  // An endpoint's own view of a connection holds its interface name; find it by the client's segment id.
  const endpointSide = new Map<string, Connection>();
  for (const conn of endpointViews.flat()) {
    const first = conn.path?.path_segments[0]?.id;
    const last = conn.path?.path_segments.at(-1);
    if (first && last && last.id === conn.id) endpointSide.set(first, conn);
  }
  const links: LinkStatus[] = [];
  for (const conn of managerViews.flat()) {
    const segments = conn.path?.path_segments ?? [];
    const client = segments[0]?.name ?? '';
    const clientPod = state.pods.find((p) => p.name === client && p.role === 'client');
    if (!clientPod || conn.path?.index !== 1) continue;
    const far = endpointSide.get(segments[0]!.id);
    const names = new Set(endpointPods.map((p) => p.name));
    const chain = segments.map((s) => s.name).filter((n) => names.has(n));
    const endpoint = chain.at(-1) ?? conn.network_service_endpoint_name;
    const ip = conn.context?.ip_context;
    links.push({
      id: segments[0]!.id,
      client,
      clientNode: clientPod.node,
      clientInterface: conn.mechanism?.parameters['name'] ?? '',
      clientIps: ip?.src_ip_addrs ?? [],
      endpoint,
      endpointNode: podNode.get(endpoint) ?? '',
      endpointInterface: far?.mechanism?.parameters['name'] ?? '',
      endpointIps: ip?.dst_ip_addrs ?? [],
      chain,
      service: conn.network_service,
      labels: Object.fromEntries(
        Object.entries(conn.labels).filter(([k]) => !['nodeName', 'podName', 'clusterName'].includes(k)),
      ),
      mechanism: conn.mechanism?.type ?? '',
      locality: podNode.get(endpoint) === clientPod.node ? 'local' : 'remote',
      state: conn.state,
      pathLength: segments.length,
    });
  }
  links.sort(
    (a, b) => a.client.localeCompare(b.client) || a.clientInterface.localeCompare(b.clientInterface),
  );
  return {
    lab: lab.name,
    nodes: state.nodes.map(({ name, netns, tunnelIp }) => ({ name, netns: `/run/netns/${netns}`, tunnelIp })),
    pods: state.pods.map((p) => ({
      name: p.name,
      node: p.node,
      role: p.role,
      netns: `/run/netns/${p.netns}`,
    })),
    ...records,
    links,
  };
}

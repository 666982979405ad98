/**
 * The links of `nsm status`: the connections each client pod holds right now, by its own account
 * (its status file, written by the live process), described with what the mesh knows of them (the
 * manager's and the endpoint's view). A connection a hop still remembers but no client holds any
 * more is not a link; a connection the client is healing is shown as such, never as UP.
 */
import { fromTimestamp, type Connection } from '@nsm-ts/sdk/api';
import { KERNEL_DEVICE_PARAMETER, TAP_DEVICE } from '@nsm-ts/sdk/elements';
import type { LabState } from './lab.js';
import type { PodStatus } from '../roles/status-file.js';
import type { MemifReport } from '../roles/memif-side.js';

/**
 * One side's memif, as its pod reports it: where the socket is (a DPDK program attaches there, in
 * that namespace), the addresses, and the traffic its probe and responder counted.
 */
export interface MemifView extends MemifReport {
  /** The pod's network namespace (`ip netns exec <name> ...`). */
  netns: string;
  /** An endpoint's own id of the connection (its status file reports the memif under it). */
  connectionId?: string;
}

/** One connection of a client pod, as `nsm status` shows it. */
export interface LinkStatus {
  /** The client's own connection id (its path segment's). */
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
  /** The nodes the path crosses, the client's first. */
  nodes: string[];
  service: string;
  labels: Record<string, string>;
  mechanism: string;
  /** `local` when every pod of the chain is on the client's node. */
  locality: 'local' | 'remote';
  /**
   * UP only when the client holds it and the manager reports it UP; HEALING while the client repairs
   * it; DOWN once a repair attempt failed (or a hop reports it down), with `reason`.
   */
  state: string;
  /** Why it is not UP: the client's last heal error, or the reason a hop reported it DOWN with. */
  reason?: string;
  pathLength: number;
  /** The path as the client's manager sees it: each hop's name, connection id, token (a JWT) and expiry. */
  path: { name: string; id: string; token: string; expires: string }[];
  /** The client's memif, when it asked for one (memif://). */
  clientMemif?: MemifView;
  /** The endpoint's memif, when it serves this connection over one (NSM_MECHANISMS MEMIF). */
  endpointMemif?: MemifView;
  /** The client's interface is a tap (tap://): its addresses are the guest's, not the pod's. */
  clientTap?: true;
}

const OWN_LABELS = ['nodeName', 'podName', 'clusterName'];

/** The connections in the manager views, by the client's segment id (index 1: the manager's own view). */
function byClientSegment(managerViews: Connection[]): Map<string, Connection> {
  const map = new Map<string, Connection>();
  for (const conn of managerViews) {
    const first = conn.path?.path_segments[0]?.id;
    if (first && conn.path?.index === 1) map.set(first, conn);
  }
  return map;
}

/** An endpoint's own view of each connection (its interface name), by the client's segment id. */
function endpointSides(endpointViews: Connection[]): Map<string, Connection> {
  const map = new Map<string, Connection>();
  for (const conn of endpointViews) {
    const first = conn.path?.path_segments[0]?.id;
    const last = conn.path?.path_segments.at(-1);
    if (first && last && last.id === conn.id) map.set(first, conn);
  }
  return map;
}

/** The links of the lab: `held` maps each client pod to its live status (absent: holds nothing). */
export function buildLinks(
  state: LabState,
  held: ReadonlyMap<string, PodStatus>,
  managerViews: Connection[],
  endpointViews: Connection[],
  netnsOf: (pod: string) => string = (pod) => pod,
): LinkStatus[] {
  const podNode = new Map(state.pods.map((p) => [p.name, p.node]));
  const endpointPods = new Set(state.pods.filter((p) => p.role !== 'client').map((p) => p.name));
  const managers = byClientSegment(managerViews);
  const far = endpointSides(endpointViews);
  const links: LinkStatus[] = [];
  for (const pod of state.pods.filter((p) => p.role === 'client')) {
    for (const request of held.get(pod.name)?.requests ?? []) {
      if (!request.connectionId || request.state === 'pending') continue;
      const conn = managers.get(request.connectionId);
      const segments = conn?.path?.path_segments ?? [];
      const chain = segments.map((s) => s.name).filter((n) => endpointPods.has(n));
      const endpoint = chain.at(-1) ?? request.endpoint ?? '';
      const nodes = [...new Set([pod.node, ...chain.map((n) => podNode.get(n) ?? '')].filter(Boolean))];
      const ip = conn?.context?.ip_context;
      const failing = request.state === 'healing' && (request.healFailures ?? 0) > 0;
      const state =
        request.state === 'healing'
          ? failing
            ? 'DOWN'
            : 'HEALING'
          : conn
            ? conn.state
            : 'DOWN (the manager does not know it)';
      const reported = segments.map((s) => s.metrics?.['down_reason']).find((r) => r);
      const reason = request.state === 'healing' ? request.error : state === 'DOWN' ? reported : undefined;
      const endpointSide = far.get(request.connectionId);
      const served = held.get(endpoint)?.memifs?.find((m) => m.connectionId === endpointSide?.id);
      links.push({
        id: request.connectionId,
        client: pod.name,
        clientNode: pod.node,
        clientInterface: request.ifname,
        clientIps: ip?.src_ip_addrs ?? request.srcIps ?? [],
        endpoint,
        endpointNode: podNode.get(endpoint) ?? '',
        endpointInterface: endpointSide?.mechanism?.parameters['name'] ?? '',
        endpointIps: ip?.dst_ip_addrs ?? request.dstIps ?? [],
        chain: chain.length > 0 ? chain : endpoint ? [endpoint] : [],
        nodes,
        service: request.service,
        labels: Object.fromEntries(
          Object.entries(conn?.labels ?? request.labels).filter(([k]) => !OWN_LABELS.includes(k)),
        ),
        mechanism: conn?.mechanism?.type ?? '',
        locality: nodes.length <= 1 ? 'local' : 'remote',
        state,
        ...(reason ? { reason } : {}),
        pathLength: segments.length,
        path: segments.map((s) => ({
          name: s.name,
          id: s.id,
          token: s.token,
          expires: s.expires ? new Date(fromTimestamp(s.expires)!).toISOString() : '',
        })),
        ...(request.memif ? { clientMemif: { ...request.memif, netns: netnsOf(pod.name) } } : {}),
        ...(served ? { endpointMemif: { ...served, netns: netnsOf(endpoint) } } : {}),
        ...(conn?.mechanism?.parameters[KERNEL_DEVICE_PARAMETER] === TAP_DEVICE
          ? { clientTap: true as const }
          : {}),
      });
    }
  }
  return links.sort(
    (a, b) => a.client.localeCompare(b.client) || a.clientInterface.localeCompare(b.clientInterface),
  );
}

/**
 * What the page draws, derived from the JSON of `nsm status --json` (no DOM here: the layout and
 * this model are tested in Node). A link is one request of a client pod: the connection it holds
 * when `links` has it, else the request alone, drawn to where it last led (if the page saw it).
 */

/** The counters of one interface. */
export interface PageCounters {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  rxDropped: number;
  txDropped: number;
}

/** The parts of `nsm status --json` the page reads (the lab's LabStatus satisfies it; a test checks). */
export interface PageStatus {
  lab: string;
  supervisor: { running: boolean; error?: string };
  components: { name: string; kind: string; node?: string; state: string; pid?: number; restarts: number }[];
  nodes: { name: string; netns: string; tunnelIp: string }[];
  pods: PagePod[];
  endpoints: { name: string; network_service_names: string[]; url: string }[];
  registryError?: string;
  links: PageLink[];
}

export interface PagePod {
  name: string;
  node: string;
  role: string;
  netns: string;
  state: string;
  pid?: number;
  restarts: number;
  pending: { service: string; ifname: string; reason: string }[];
  lastExit?: { code: number | null; signal: string | null; at: string } | undefined;
  metrics?: { url: string; netns: string };
  requests?: { service: string; ifname: string }[];
  interfaces?: PageInterface[];
}

export interface PageInterface {
  name: string;
  kind?: string;
  mac?: string;
  mtu: number;
  up: boolean;
  addresses: string[];
  counters: PageCounters;
}

export interface PageLink {
  id: string;
  client: string;
  clientNode: string;
  clientInterface: string;
  clientIps: string[];
  endpoint: string;
  endpointNode: string;
  endpointInterface: string;
  endpointIps: string[];
  chain: string[];
  nodes: string[];
  service: string;
  labels: Record<string, string>;
  mechanism: string;
  locality: string;
  state: string;
  pathLength: number;
}

/** The colour of a link: green, red or amber. */
export type LinkState = 'up' | 'down' | 'pending';

/** One link as drawn. */
export interface ViewLink {
  /** `<client>/<ifname>`. */
  key: string;
  client: string;
  ifname: string;
  service: string;
  state: LinkState;
  /** Whether `nsm status` lists it now (the client holds it). */
  held: boolean;
  /** The connection: the current one when held, else the last one the page saw for this request. */
  link?: PageLink;
  /** Why it has this state, in words. */
  reason: string;
}

/** One pod as drawn: its interface names in order (what its namespace has and what its links name). */
export interface ViewPod {
  pod: PagePod;
  ifaces: string[];
}

export interface ViewNode {
  name: string;
  tunnelIp: string;
  pods: ViewPod[];
  /** Its manager and forwarder. */
  components: PageStatus['components'];
}

export interface View {
  nodes: ViewNode[];
  links: ViewLink[];
}

/** Names in the order people expect: `node-2` before `node-10`. */
export const byName = (a: string, b: string): number =>
  a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' }) || (a < b ? -1 : a > b ? 1 : 0);

const ROLE_ORDER: Record<string, number> = { client: 0, passthrough: 1, endpoint: 2 };

/** The colour of a connection state of `nsm status` (UP, HEALING, DOWN ...). */
export function linkState(state: string): LinkState {
  if (state === 'UP') return 'up';
  if (state === 'HEALING') return 'pending';
  return 'down';
}

/** A request the client does not hold: red when the pod is stopped or failed, amber while it waits. */
function unheldState(pod: PagePod): { state: LinkState; reason: string } {
  if (pod.state === 'stopped') return { state: 'down', reason: `${pod.name} is stopped` };
  if (pod.state === 'failed') return { state: 'down', reason: `${pod.name} failed` };
  return { state: 'pending', reason: `${pod.name} does not hold it yet` };
}

/**
 * The view of `status`. `memory` keeps the last connection seen for each request, so that a
 * stopped client's links stay drawn (red) to where they led; it is updated here.
 */
export function buildView(status: PageStatus, memory: Map<string, PageLink> = new Map()): View {
  const podsByName = new Map(status.pods.map((p) => [p.name, p]));
  const held = new Map(status.links.map((l) => [`${l.client}/${l.clientInterface}`, l]));
  for (const [key, link] of held) memory.set(key, link);

  const keys = new Map<string, { client: string; ifname: string; service: string }>();
  for (const pod of status.pods)
    for (const r of pod.requests ?? [])
      keys.set(`${pod.name}/${r.ifname}`, { client: pod.name, ifname: r.ifname, service: r.service });
  for (const l of status.links)
    keys.set(`${l.client}/${l.clientInterface}`, {
      client: l.client,
      ifname: l.clientInterface,
      service: l.service,
    });

  const links: ViewLink[] = [...keys.entries()]
    .sort(([a], [b]) => byName(a, b))
    .map(([key, { client, ifname, service }]) => {
      const now = held.get(key);
      if (now)
        return {
          key,
          client,
          ifname,
          service,
          state: linkState(now.state),
          held: true,
          link: now,
          reason: now.state,
        };
      const pod = podsByName.get(client);
      const { state, reason } = pod
        ? unheldState(pod)
        : { state: 'down' as const, reason: `${client} is gone` };
      const last = memory.get(key);
      return { key, client, ifname, service, state, held: false, reason, ...(last ? { link: last } : {}) };
    });

  const ifacesOf = (pod: PagePod): string[] => {
    const names = new Set((pod.interfaces ?? []).map((i) => i.name));
    for (const r of pod.requests ?? []) names.add(r.ifname);
    for (const l of links) {
      if (l.client === pod.name) names.add(l.ifname);
      if (l.link && l.link.endpoint === pod.name && l.link.endpointInterface && l.held)
        names.add(l.link.endpointInterface);
    }
    return [...names].sort(byName);
  };

  // Pods outside every node (fabric hosts, external endpoints' gateways) get a column of their own, last.
  const known = new Set(status.nodes.map((n) => n.name));
  const outside = [...new Set(status.pods.map((p) => p.node).filter((n) => !known.has(n)))].sort(byName);
  const nodes = [
    ...[...status.nodes].sort((a, b) => byName(a.name, b.name)),
    ...outside.map((name) => ({ name, netns: '', tunnelIp: 'outside the mesh' })),
  ].map((n) => ({
    name: n.name,
    tunnelIp: n.tunnelIp,
    pods: status.pods
      .filter((p) => p.node === n.name)
      .sort((a, b) => (ROLE_ORDER[a.role] ?? 9) - (ROLE_ORDER[b.role] ?? 9) || byName(a.name, b.name))
      .map((pod) => ({ pod, ifaces: ifacesOf(pod) })),
    components: status.components.filter((c) => c.node === n.name).sort((a, b) => byName(a.name, b.name)),
  }));
  return { nodes, links };
}

/** `1.5 kB`, `12 B`, `3.2 MB`: a byte count for a person. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

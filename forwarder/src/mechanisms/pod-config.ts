/**
 * What a pod's end of a wire carries from the connection context, and the netlink requests that
 * take an interface from one such configuration to another (so a refresh sends only changes).
 */
import type { ConnectionContext } from '@nsm-ts/sdk/api';
import { addAddressRequest, deleteAddressRequest } from '../kernel/netlink/address-requests.js';
import { parseCidr, parseIp } from '../kernel/netlink/inet.js';
import type { NetlinkRequest } from '../kernel/netlink/message.js';
import { addNeighborRequest, deleteNeighborRequest } from '../kernel/netlink/neighbor-requests.js';
import { type RouteOptions, addRouteRequest, deleteRouteRequest } from '../kernel/netlink/route-requests.js';

/** Which half of the IP context an end carries: `src` is the client (NSC), `dst` the endpoint. */
export type Side = 'src' | 'dst';

/** A route on the end's interface (the interface index is added when requests are made). */
export type RouteSpec = Omit<RouteOptions, 'ifindex'>;

/** A static neighbour entry. */
export interface NeighborSpec {
  readonly ip: string;
  readonly mac: string;
}

/** The IP configuration of one end. */
export interface PodConfig {
  readonly addresses: readonly string[];
  readonly routes: readonly RouteSpec[];
  readonly neighbors: readonly NeighborSpec[];
}

/** Nothing configured (a fresh interface). */
export const EMPTY_CONFIG: PodConfig = { addresses: [], routes: [], neighbors: [] };

const sameIp = (a: string, b: string): boolean => parseIp(a).bytes.equals(parseIp(b).bytes);

function routeFor(prefix: string, nextHop: string, peers: readonly string[]): RouteSpec {
  const dst = parseCidr(prefix);
  if (nextHop !== '') return { dst: prefix, gateway: nextHop, onlink: true };
  const peerHosts = peers.map((p) => parseCidr(p)).filter((p) => p.family === dst.family);
  const isHost = dst.prefixLen === dst.bytes.length * 8;
  // The peer itself is reached on the link; everything else through the peer.
  if (isHost && peerHosts.some((p) => p.bytes.equals(dst.bytes))) return { dst: prefix, scope: 'link' };
  const via = peerHosts[0];
  return via
    ? { dst: prefix, gateway: via.text.split('/')[0] ?? '', onlink: true }
    : { dst: prefix, scope: 'link' };
}

/**
 * The configuration of the `side` end: its addresses, its routes (src_routes for the client,
 * dst_routes for the endpoint) and the static neighbours it needs (entries for the other side's
 * addresses go to this side; entries for this side's own addresses go to the other side).
 * Validates every address, prefix and MAC, so a bad context fails before anything is built.
 * Usage: `podConfig(conn.context, 'src')`.
 */
export function podConfig(context: ConnectionContext | null, side: Side): PodConfig {
  const ip = context?.ip_context;
  if (!ip) return EMPTY_CONFIG;
  const own = side === 'src' ? ip.src_ip_addrs : ip.dst_ip_addrs;
  const peers = side === 'src' ? ip.dst_ip_addrs : ip.src_ip_addrs;
  const routes = (side === 'src' ? ip.src_routes : ip.dst_routes).map((r) =>
    routeFor(r.prefix, r.nextHop, peers),
  );
  const clientIps = ip.src_ip_addrs.map((a) => a.split('/')[0] ?? a);
  const toEndpoint = (n: { ip: string }): boolean => clientIps.some((c) => sameIp(c, n.ip));
  const neighbors = ip.ip_neighbors
    .filter((n) => toEndpoint(n) === (side === 'dst'))
    .map((n) => ({ ip: n.ip, mac: n.hardware_address }));
  const config = { addresses: [...own], routes, neighbors };
  // Encoding checks every value now rather than halfway through building a wire.
  configRequests(1, config, EMPTY_CONFIG);
  return config;
}

const routeKey = (r: RouteSpec): string => `${r.dst}|${r.gateway ?? ''}|${r.scope ?? ''}|${r.onlink ? 1 : 0}`;
const neighborKey = (n: NeighborSpec): string => `${n.ip}|${n.mac.toLowerCase()}`;

function minus<T>(a: readonly T[], b: readonly T[], key: (t: T) => string): T[] {
  const keys = new Set(b.map(key));
  return a.filter((t) => !keys.has(key(t)));
}

/** Requests removing what `have` has and `want` lacks (routes first: they may use the addresses). */
export function removalRequests(index: number, want: PodConfig, have: PodConfig): NetlinkRequest[] {
  return [
    ...minus(have.routes, want.routes, routeKey).map((r) => deleteRouteRequest({ ...r, ifindex: index })),
    ...minus(have.neighbors, want.neighbors, neighborKey).map((n) => deleteNeighborRequest(index, n.ip)),
    ...minus(have.addresses, want.addresses, String).map((a) => deleteAddressRequest(index, a)),
  ];
}

/** Requests adding what `want` has and `have` lacks (addresses first, then routes and neighbours). */
export function configRequests(index: number, want: PodConfig, have: PodConfig): NetlinkRequest[] {
  return [...addressRequests(index, want, have), ...routeRequests(index, want, have)];
}

/** Requests adding the addresses `want` has and `have` lacks. */
export function addressRequests(index: number, want: PodConfig, have: PodConfig): NetlinkRequest[] {
  return minus(want.addresses, have.addresses, String).map((a) => addAddressRequest(index, a));
}

/** Requests adding the routes and neighbours `want` has and `have` lacks. */
export function routeRequests(index: number, want: PodConfig, have: PodConfig): NetlinkRequest[] {
  return [
    ...minus(want.routes, have.routes, routeKey).map((r) => addRouteRequest({ ...r, ifindex: index })),
    ...minus(want.neighbors, have.neighbors, neighborKey).map((n) => addNeighborRequest(index, n.ip, n.mac)),
  ];
}

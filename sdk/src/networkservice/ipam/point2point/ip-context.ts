/** Writes the addresses and routes of point-to-point pairs into an IP context, replacing stale ones. */
import type { IPContext, Route } from '../../../api/types.js';
import { contains, hostCidr, isHostCidr, parseCidr, type Cidr } from '../../../tools/cidr/cidr.js';
import type { AddressPool } from './pool.js';

/** The addresses one connection holds in one prefix. */
export interface Pair {
  readonly pool: AddressPool;
  /** The endpoint side. */
  readonly dst: bigint;
  /** The client side. */
  readonly src: bigint;
}

/** `/32` or `/128` text of a pair's address. */
export function pairCidrs(pair: Pair): { dst: string; src: string } {
  const family = pair.pool.prefix.family;
  return { dst: hostCidr({ family, value: pair.dst }), src: hostCidr({ family, value: pair.src }) };
}

function tryCidr(text: string): Cidr | undefined {
  try {
    return parseCidr(text);
  } catch {
    return undefined;
  }
}

/**
 * Keeps `entries` that are ours (rewritten to canonical text, in place) or outside our prefixes, drops
 * the rest of what lies in our prefixes (left over from an old allocation or another endpoint), and
 * appends ours that are missing. `hostOnly` limits dropping to host prefixes (routes to whole networks
 * may have been added by other elements).
 */
function sync(entries: string[], ours: string[], pools: readonly AddressPool[], hostOnly: boolean): string[] {
  const out: string[] = [];
  for (const entry of entries) {
    const cidr = tryCidr(entry);
    const ip = cidr && { family: cidr.family, value: cidr.address };
    if (!cidr || !ip || !pools.some((p) => contains(p.prefix, ip)) || (hostOnly && !isHostCidr(cidr))) {
      out.push(entry);
      continue;
    }
    const canonical = isHostCidr(cidr) ? hostCidr(ip) : entry;
    if (ours.includes(canonical) && !out.includes(canonical)) out.push(canonical);
  }
  for (const mine of ours) if (!out.includes(mine)) out.push(mine);
  return out;
}

function syncRoutes(routes: Route[], ours: string[], pools: readonly AddressPool[]): Route[] {
  const byPrefix = new Map(routes.map((r) => [r.prefix, r]));
  const prefixes = sync(
    routes.map((r) => r.prefix),
    ours,
    pools,
    true,
  );
  return prefixes.map((prefix) => byPrefix.get(prefix) ?? { prefix, nextHop: '' });
}

/**
 * Puts `pairs` into `ip`: endpoint addresses in `dst_ip_addrs`, client addresses in `src_ip_addrs`, a host
 * route to the endpoint on the client side (`src_routes`) and one to the client on the endpoint side.
 */
export function writePairs(ip: IPContext, pairs: readonly Pair[], pools: readonly AddressPool[]): void {
  const texts = pairs.map(pairCidrs);
  const dst = texts.map((t) => t.dst);
  const src = texts.map((t) => t.src);
  ip.dst_ip_addrs = sync(ip.dst_ip_addrs, dst, pools, false);
  ip.src_ip_addrs = sync(ip.src_ip_addrs, src, pools, false);
  ip.src_routes = syncRoutes(ip.src_routes, dst, pools);
  ip.dst_routes = syncRoutes(ip.dst_routes, src, pools);
}

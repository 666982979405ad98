/**
 * point2pointIpam: the endpoint's IPAM. Each connection gets two host addresses per IP family from the
 * endpoint's prefixes: the endpoint side (dst) the first free one, the client side (src) the next, with
 * host routes to each other. Addresses a request already carries are recovered when free, so an
 * endpoint that restarts does not renumber its clients.
 */
import { ensureIpContext } from '../../../api/builders.js';
import type { IPContext } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import { invalidArgument } from '../../../core/errors.js';
import { metadataSlot } from '../../../core/metadata.js';
import { overlaps, parseCidrOrAddress, type Cidr } from '../../../tools/cidr/cidr.js';
import { parsePoolPrefix } from '../../../tools/cidr/pool-prefix.js';
import { allocate, isExcluded, release } from './allocate.js';
import { pairCidrs, writePairs, type Pair } from './ip-context.js';
import { AddressPool } from './pool.js';

function parsePools(prefixes: string[] | string): AddressPool[] {
  // A single string may be a comma list, as NSM_CIDR_PREFIX is.
  const list = (typeof prefixes === 'string' ? prefixes.split(',') : prefixes)
    .map((p) => p.trim())
    .filter(Boolean);
  if (list.length === 0) {
    throw invalidArgument('point2pointIpam needs at least one prefix, such as 10.60.1.0/24 or fd00::/64');
  }
  // The same rule as `nsm up` applies to NSM_CIDR_PREFIX: no /32, loopback, multicast, link-local ...
  const pools = list.map((text) => new AddressPool(parsePoolPrefix(text)));
  for (const [i, a] of pools.entries()) {
    const clash = pools.slice(i + 1).find((b) => overlaps(a.prefix, b.prefix));
    if (clash)
      throw invalidArgument(
        `prefixes ${a.text} and ${clash.text} overlap; expected prefixes that do not overlap (each address once)`,
      );
  }
  return pools;
}

/** The addresses a connection holds: its metadata, released and gone with it. */
const kPairs = metadataSlot<Pair[]>('point2point.pairs', 'server');

function parseExcluded(ip: IPContext): Cidr[] {
  return ip.excluded_prefixes.map((text, i) => {
    try {
      return parseCidrOrAddress(text);
    } catch (err) {
      throw invalidArgument(`ip_context.excluded_prefixes[${i}]: ${(err as Error).message}`);
    }
  });
}

/**
 * Point-to-point IPAM server element for endpoints. `prefixes`: CIDRs (a list or a comma-separated string),
 * at most one pair per IP family and connection. Throws INVALID_ARGUMENT at construction for bad or
 * overlapping prefixes and for prefixes `poolPrefixProblem` refuses (single-address, loopback, multicast,
 * link-local, default route ...). Usage: `point2pointIpam(process.env.NSM_CIDR_PREFIX ?? '10.60.1.0/24')`.
 */
export function point2pointIpam(prefixes: string[] | string): NetworkServiceElement {
  const pools = parsePools(prefixes);
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      if (!conn) throw invalidArgument('request.connection is missing: expected a Connection');
      const ip = ensureIpContext(conn);
      const excluded = parseExcluded(ip);
      let pairs = kPairs.get(ctx);
      if (pairs?.some((p) => isExcluded(p, excluded))) {
        // The excluded prefixes changed under a live connection: its addresses must move.
        release(pairs);
        kPairs.delete(ctx);
        pairs = undefined;
      }
      const fresh = pairs === undefined;
      pairs ??= allocate(conn.id, pools, ip, excluded);
      kPairs.set(ctx, pairs);
      writePairs(ip, pairs, pools);
      if (fresh)
        ctx.log.debug({ connId: conn.id, pairs: pairs.map(pairCidrs) }, 'point2pointIpam: allocated');
      try {
        return await next.request(ctx, req);
      } catch (err) {
        if (fresh) {
          release(pairs);
          kPairs.delete(ctx);
        }
        throw err;
      }
    },
    async close(ctx, conn, next) {
      const pairs = kPairs.get(ctx);
      if (pairs) {
        release(pairs);
        kPairs.delete(ctx);
      }
      await next.close(ctx, conn);
    },
  };
}

/** Address-pair allocation across the prefixes of the point-to-point IPAM, with recovery of given addresses. */
import type { IPContext } from '../../../api/types.js';
import { Code, NsmError } from '../../../core/errors.js';
import { contains, formatCidr, type Cidr } from '../../../tools/cidr/cidr.js';
import { tryParseIp, type IpFamily } from '../../../tools/cidr/ip.js';
import type { Pair } from './ip-context.js';
import type { AddressPool } from './pool.js';

/** Values of `family` among `addrs` (CIDR or bare address text); malformed entries are not ours to judge. */
function wanted(addrs: string[], family: IpFamily): bigint[] {
  return addrs
    .map((text) => tryParseIp(text.split('/')[0] ?? ''))
    .filter((ip) => ip?.family === family)
    .map((ip) => ip!.value);
}

function allocateIn(pool: AddressPool, ip: IPContext, excluded: Cidr[]): Pair | undefined {
  const family = pool.prefix.family;
  const taken: bigint[] = [];
  const takeFirst = (candidates: readonly (bigint | undefined)[]): bigint | undefined => {
    const value = candidates.find((v) => v !== undefined && pool.canTake(v, excluded));
    if (value !== undefined) {
      pool.take(value);
      taken.push(value);
    }
    return value;
  };
  // Recovered addresses are claimed before fresh ones so a fresh pick never takes a client's old address.
  let dst = takeFirst(wanted(ip.dst_ip_addrs, family));
  let src = takeFirst(wanted(ip.src_ip_addrs, family));
  dst ??= takeFirst([pool.nextFree(excluded)]);
  src ??= takeFirst([pool.nextFree(excluded)]);
  if (dst !== undefined && src !== undefined) return { pool, dst, src };
  for (const value of taken) pool.release(value);
  return undefined;
}

/**
 * One pair per IP family the pools cover, preferring the pool that holds addresses the request already
 * carries; RESOURCE_EXHAUSTED naming the prefixes when a family has no pair left (nothing stays taken).
 */
export function allocate(connId: string, pools: AddressPool[], ip: IPContext, excluded: Cidr[]): Pair[] {
  const pairs: Pair[] = [];
  for (const family of [4, 6] as const) {
    const candidates = pools.filter((p) => p.prefix.family === family);
    if (candidates.length === 0) continue;
    const hint = [...wanted(ip.dst_ip_addrs, family), ...wanted(ip.src_ip_addrs, family)];
    const holdsHint = (p: AddressPool): number =>
      hint.some((value) => contains(p.prefix, { family, value })) ? 0 : 1;
    const ordered = [...candidates].sort((a, b) => holdsHint(a) - holdsHint(b));
    let pair: Pair | undefined;
    for (const pool of ordered) if ((pair = allocateIn(pool, ip, excluded))) break;
    if (!pair) {
      release(pairs);
      const used = candidates.map((p) => `${p.text}: ${p.inUse} in use`).join(', ');
      const ex = excluded.length ? excluded.map(formatCidr).join(', ') : 'none';
      throw new NsmError(
        Code.RESOURCE_EXHAUSTED,
        `no free pair of IPv${family} addresses for connection "${connId}" in ${used} (excluded: ${ex})`,
      );
    }
    pairs.push(pair);
  }
  return pairs;
}

/** Frees the addresses of `pairs`. */
export function release(pairs: readonly Pair[]): void {
  for (const { pool, dst, src } of pairs) {
    pool.release(dst);
    pool.release(src);
  }
}

/** Whether an address of `pair` lies in `excluded`. */
export function isExcluded(pair: Pair, excluded: Cidr[]): boolean {
  const family = pair.pool.prefix.family;
  return excluded.some(
    (e) => contains(e, { family, value: pair.dst }) || contains(e, { family, value: pair.src }),
  );
}

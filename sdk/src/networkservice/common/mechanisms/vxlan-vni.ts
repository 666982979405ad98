/**
 * VXLAN VNI allocation for the server side of a remote wire. Two forwarders may each open tunnels to the
 * other at once; the parity rule (even when src <= dst, odd otherwise) keeps their choices apart, and a VNI
 * is unique per source address because the receiving kernel tells tunnels apart by (remote IP, VNI).
 */
import { randomInt } from 'node:crypto';
import { Code, NsmError, invalidArgument } from '../../../core/errors.js';
import { compareIp, formatIp, tryParseIp, type IpAddress } from '../../../tools/cidr/ip.js';
import { MAX_VNI } from './vxlan.js';

/** Hands out VNIs per connection id; a connection keeps its VNI across refreshes until released. */
export interface VniAllocator {
  /**
   * The VNI of connection `connId` between `srcIp` and `dstIp`: its current one, else `requested` when it
   * is valid and free (a replayed request after a restart), else a fresh one. RESOURCE_EXHAUSTED when none is left.
   */
  allocate(connId: string, srcIp: string, dstIp: string, requested?: number): number;
  /** Frees the VNI of `connId` (on close); unknown ids are ignored. */
  release(connId: string): void;
  /** The VNI `connId` holds, if any. */
  vniOf(connId: string): number | undefined;
  /** Number of VNIs held. */
  readonly size: number;
}

/** 0 (even) when src <= dst, else 1 (odd). Usage: `vniParity('10.0.0.1', '10.0.0.2') === 0`. */
export function vniParity(srcIp: string, dstIp: string): 0 | 1 {
  return compareIp(address(srcIp, 'src_ip'), address(dstIp, 'dst_ip')) <= 0 ? 0 : 1;
}

function address(text: string, field: string): IpAddress {
  const ip = tryParseIp(text);
  if (!ip) throw invalidArgument(`VXLAN ${field} "${text}" is not an IPv4 or IPv6 address`);
  return ip;
}

interface Held {
  key: string;
  src: string;
  dst: string;
  vni: number;
}

/**
 * A VNI allocator. `random(n)` returns an integer in [0, n) (injectable for tests); random VNIs make a
 * restarted forwarder unlikely to reuse one a stale tunnel still holds. `maxVni` narrows the range
 * 1..maxVni (default the full 24 bits). Usage: `const vnis = createVniAllocator()`.
 */
export function createVniAllocator(
  options: { random?: (n: number) => number; maxVni?: number } = {},
): VniAllocator {
  const random = options.random ?? ((n: number) => randomInt(n));
  const max = Math.min(options.maxVni ?? MAX_VNI, MAX_VNI);
  const half = Math.floor(max / 2) + 1;
  const owners = new Map<string, string>(); // `${src}/${vni}` -> connection id
  const byConn = new Map<string, Held>();
  const keyOf = (src: string, vni: number): string => `${src}/${vni}`;
  const usable = (src: string, vni: number, parity: number, connId: string): boolean => {
    const owner = owners.get(keyOf(src, vni));
    return (
      Number.isInteger(vni) && vni >= 1 && vni <= max && vni % 2 === parity && (!owner || owner === connId)
    );
  };

  const pick = (src: string, parity: 0 | 1, connId: string): number => {
    for (let i = 0; i < 64; i++) {
      const vni = 2 * random(half) + parity;
      if (usable(src, vni, parity, connId)) return vni;
    }
    // Random probing only misses when the space is nearly full: scan so the answer is exact.
    for (let vni = parity === 0 ? 2 : 1; vni <= max; vni += 2)
      if (usable(src, vni, parity, connId)) return vni;
    throw new NsmError(
      Code.RESOURCE_EXHAUSTED,
      `no free ${parity ? 'odd' : 'even'} VXLAN VNI left for source ${src}`,
    );
  };

  const release = (connId: string): void => {
    const held = byConn.get(connId);
    if (!held) return;
    owners.delete(held.key);
    byConn.delete(connId);
  };

  return {
    allocate(connId, srcIp, dstIp, requested) {
      const src = formatIp(address(srcIp, 'src_ip'));
      const dst = formatIp(address(dstIp, 'dst_ip'));
      const held = byConn.get(connId);
      if (held && held.src === src && held.dst === dst) return held.vni;
      // New endpoints change the parity rule and the uniqueness scope: start over.
      release(connId);
      const parity = vniParity(src, dst);
      const vni =
        requested !== undefined && usable(src, requested, parity, connId)
          ? requested
          : pick(src, parity, connId);
      const key = keyOf(src, vni);
      owners.set(key, connId);
      byConn.set(connId, { key, src, dst, vni });
      return vni;
    },
    release,
    vniOf: (connId) => byConn.get(connId)?.vni,
    get size() {
      return byConn.size;
    },
  };
}

/** MTU rules for the interfaces the forwarder builds. */
import type { Connection } from '@nsm-ts/sdk/api';
import { invalidArgument } from '@nsm-ts/sdk/core';
import { VXLAN_OVERHEAD_IPV4, VXLAN_OVERHEAD_IPV6 } from '@nsm-ts/sdk/elements';
import { formatIp, parseIp } from '../kernel/netlink/inet.js';
import type { Netlink } from '../kernel/netlink/netlink.js';

/** Smallest MTU Linux accepts for IPv4 (RFC 791). */
export const MIN_MTU = 68;
/** Largest MTU a Linux netdev can have. */
export const MAX_MTU = 65535;

/** Throws INVALID_ARGUMENT unless `mtu` is an integer in 68..65535. Usage: `checkMtu(9000, 'context MTU')`. */
export function checkMtu(mtu: number, what: string): number {
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
    throw invalidArgument(`${what} is ${mtu}: expected an integer in ${MIN_MTU}..${MAX_MTU}`);
  }
  return mtu;
}

/** The connection context's MTU (validated), or undefined when unset (0). Usage: `contextMtu(conn)`. */
export function contextMtu(conn: Connection): number | undefined {
  const mtu = conn.context?.MTU ?? 0;
  return mtu === 0 ? undefined : checkMtu(mtu, `connection ${conn.id}: context MTU`);
}

/** Bytes a VXLAN tunnel adds on an underlay of this family. */
export function vxlanOverhead(family: 4 | 6): number {
  return family === 4 ? VXLAN_OVERHEAD_IPV4 : VXLAN_OVERHEAD_IPV6;
}

/**
 * The MTU of a tunnel device: the underlay's minus the overhead, lowered further by any limit given
 * (context MTU, the peer's MTU parameter). Usage: `tunnelMtu(1500, 4, contextMtu(conn))` → 1450.
 */
export function tunnelMtu(underlay: number, family: 4 | 6, ...limits: (number | undefined)[]): number {
  const caps = limits.filter((l): l is number => l !== undefined && l > 0);
  const mtu = Math.min(underlay - vxlanOverhead(family), ...caps);
  return checkMtu(mtu, `tunnel MTU (underlay ${underlay})`);
}

/** The MTU of the interface holding `ip` in the namespace of `nl`, or undefined when none has it. */
export async function findUnderlayMtu(nl: Netlink, ip: string): Promise<number | undefined> {
  const wanted = formatIp(parseIp(ip).bytes);
  const addr = (await nl.listAddresses()).find((a) => a.address === wanted);
  return addr ? (await nl.getLink(addr.index)).mtu : undefined;
}

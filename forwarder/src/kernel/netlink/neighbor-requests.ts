import { bytesAttr } from './attributes.js';
import { NDA, NLM_F, NUD_PERMANENT, RTM } from './constants.js';
import { parseIp, parseMac } from './inet.js';
import type { NetlinkRequest } from './message.js';
import { ndmsg } from './structs.js';
import { validateIfIndex } from './validate.js';

/** A permanent neighbour entry (ARP / NDP), replacing any learned one for the same address. */
export function addNeighborRequest(ifindex: number, ip: string, mac: string): NetlinkRequest {
  validateIfIndex(ifindex);
  const addr = parseIp(ip);
  return {
    operation: `addNeighbor(${ifindex}, ${ip}, ${mac})`,
    type: RTM.NEWNEIGH,
    flags: NLM_F.CREATE | NLM_F.REPLACE,
    header: ndmsg({ family: addr.family, index: ifindex, state: NUD_PERMANENT }),
    attrs: [bytesAttr(NDA.DST, addr.bytes), bytesAttr(NDA.LLADDR, parseMac(mac))],
  };
}

/** Removes the neighbour entry for `ip`. */
export function deleteNeighborRequest(ifindex: number, ip: string): NetlinkRequest {
  validateIfIndex(ifindex);
  const addr = parseIp(ip);
  return {
    operation: `deleteNeighbor(${ifindex}, ${ip})`,
    type: RTM.DELNEIGH,
    flags: 0,
    header: ndmsg({ family: addr.family, index: ifindex, state: 0 }),
    attrs: [bytesAttr(NDA.DST, addr.bytes)],
  };
}

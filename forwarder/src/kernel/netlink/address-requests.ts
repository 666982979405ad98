import { bytesAttr, u32Attr } from './attributes.js';
import { AF, IFA, IFA_F, NLM_F, RTM, RT_SCOPE } from './constants.js';
import { parseCidr } from './inet.js';
import type { NetlinkRequest } from './message.js';
import { ifaddrmsg } from './structs.js';
import { validateIfIndex } from './validate.js';

function addressRequest(
  type: number,
  flags: number,
  ifindex: number,
  cidr: string,
  operation: string,
): NetlinkRequest {
  validateIfIndex(ifindex);
  const p = parseCidr(cidr);
  // Duplicate address detection would hold a fresh IPv6 address "tentative" for about a second;
  // the wire is point-to-point and the address negotiated, so there is nothing to detect.
  const ifaFlags = p.family === AF.INET6 ? IFA_F.NODAD : 0;
  return {
    operation,
    type,
    flags,
    header: ifaddrmsg({
      family: p.family,
      prefixLen: p.prefixLen,
      flags: ifaFlags,
      scope: RT_SCOPE.UNIVERSE,
      index: ifindex,
    }),
    attrs: [bytesAttr(IFA.LOCAL, p.bytes), bytesAttr(IFA.ADDRESS, p.bytes), u32Attr(IFA.FLAGS, ifaFlags)],
  };
}

/**
 * Adds `cidr` (e.g. `10.0.0.1/24`, `fd00::1/64`) to the interface, replacing an existing equal
 * address, so a refresh of the same connection is idempotent.
 */
export function addAddressRequest(ifindex: number, cidr: string): NetlinkRequest {
  return addressRequest(
    RTM.NEWADDR,
    NLM_F.CREATE | NLM_F.REPLACE,
    ifindex,
    cidr,
    `addAddress(${ifindex}, ${cidr})`,
  );
}

/** Removes `cidr` from the interface. */
export function deleteAddressRequest(ifindex: number, cidr: string): NetlinkRequest {
  return addressRequest(RTM.DELADDR, 0, ifindex, cidr, `deleteAddress(${ifindex}, ${cidr})`);
}

import { parseAttrs } from './attributes.js';
import { AF, IFA, RTM } from './constants.js';
import { formatIp } from './inet.js';
import type { NetlinkRequest } from './message.js';
import { ifaddrmsg } from './structs.js';

/** An address configured on an interface. */
export interface AddressInfo {
  readonly index: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefixLen: number;
  /** `address/prefixLen`, the form the connection context uses. */
  readonly cidr: string;
  /** Whether it is an IPv6 link-local address (the kernel adds those by itself). */
  readonly linkLocal: boolean;
}

/** Dumps every address of the namespace (IPv4 and IPv6). */
export function listAddressesRequest(): NetlinkRequest {
  return {
    operation: 'listAddresses()',
    type: RTM.GETADDR,
    flags: 0,
    header: ifaddrmsg({ family: AF.UNSPEC, prefixLen: 0, flags: 0, scope: 0, index: 0 }),
    attrs: [],
    dump: true,
  };
}

/** Decodes an RTM_NEWADDR message; undefined for families other than IPv4/IPv6. */
export function parseAddress(payload: Buffer): AddressInfo | undefined {
  const family = payload.readUInt8(0);
  if (family !== AF.INET && family !== AF.INET6) return undefined;
  const prefixLen = payload.readUInt8(1);
  const attrs = parseAttrs(payload.subarray(8));
  // IFA_LOCAL is the interface's own address; on point-to-point links IFA_ADDRESS is the peer.
  const bytes = attrs.get(IFA.LOCAL) ?? attrs.get(IFA.ADDRESS);
  if (!bytes) return undefined;
  const address = formatIp(bytes);
  return {
    index: payload.readUInt32LE(4),
    family: family === AF.INET ? 4 : 6,
    address,
    prefixLen,
    cidr: `${address}/${prefixLen}`,
    linkLocal: family === AF.INET6 && bytes.readUInt16BE(0) >>> 6 === 0x3fa,
  };
}

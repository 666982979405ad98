import { attrString, attrU32, parseAttrs } from './attributes.js';
import { IFF_UP, IFLA, IFLA_INFO } from './constants.js';
import { formatMac } from './inet.js';
import { readIfinfomsg } from './structs.js';

/** What the forwarder needs to know about a link. */
export interface LinkInfo {
  readonly index: number;
  readonly name: string;
  /** IFLA_IFALIAS; the connection id on links the forwarder made. */
  readonly alias?: string;
  /** IFLA_INFO_KIND (`veth`, `vxlan`, ...); absent for physical and loopback devices. */
  readonly kind?: string;
  readonly mtu: number;
  /** `ifi_flags` (IFF_UP, IFF_RUNNING, ...). */
  readonly flags: number;
  /** Whether IFF_UP is set (administratively up). */
  readonly up: boolean;
  /** Hardware address as `aa:bb:cc:dd:ee:ff`, for Ethernet-like links. */
  readonly mac?: string;
}

/** Decodes the payload of an RTM_NEWLINK reply. */
export function parseLink(payload: Buffer): LinkInfo {
  const hdr = readIfinfomsg(payload);
  const attrs = parseAttrs(payload.subarray(16));
  const alias = attrString(attrs.get(IFLA.IFALIAS));
  const linkinfo = attrs.get(IFLA.LINKINFO);
  const kind = linkinfo ? attrString(parseAttrs(linkinfo).get(IFLA_INFO.KIND)) : undefined;
  const address = attrs.get(IFLA.ADDRESS);
  return {
    index: hdr.index,
    name: attrString(attrs.get(IFLA.IFNAME)) ?? '',
    ...(alias ? { alias } : {}),
    ...(kind ? { kind } : {}),
    mtu: attrU32(attrs.get(IFLA.MTU)) ?? 0,
    flags: hdr.flags,
    up: (hdr.flags & IFF_UP) !== 0,
    ...(address?.length === 6 ? { mac: formatMac(address) } : {}),
  };
}

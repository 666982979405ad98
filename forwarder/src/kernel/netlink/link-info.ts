import { attrString, attrU32, parseAttrs } from './attributes.js';
import { IFF_UP, IFLA, IFLA_INFO, IFLA_TUN, IFLA_VXLAN, TUN_TYPE } from './constants.js';
import { formatIp, formatMac } from './inet.js';
import { readIfinfomsg } from './structs.js';

/** The parameters of a VXLAN device, as the kernel reports them. */
export interface VxlanLinkInfo {
  readonly vni: number;
  readonly local?: string;
  readonly remote?: string;
  readonly port?: number;
  /** IFLA_VXLAN_DF is 1: outer don't-fragment set. */
  readonly df?: boolean;
}

/** The parameters of a tun/tap device, as the kernel reports them. */
export interface TunLinkInfo {
  readonly type: 'tun' | 'tap';
  readonly multiQueue: boolean;
  readonly persist: boolean;
  /** The uid that may attach without CAP_NET_ADMIN, when one is set. */
  readonly owner?: number;
  /** The gid whose members may attach without CAP_NET_ADMIN, when one is set. */
  readonly group?: number;
}

/** A link's traffic counters (the first fields of `struct rtnl_link_stats64`), from its own view. */
export interface LinkStats {
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxErrors: number;
  readonly txErrors: number;
  readonly rxDropped: number;
  readonly txDropped: number;
}

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
  /** IFLA_LINK: for a veth, the peer's index in the peer's own namespace (for a plain device, its own index). */
  readonly link?: number;
  /** For kind `vxlan`: its tunnel parameters. */
  readonly vxlan?: VxlanLinkInfo;
  /** For kind `tun`: tun or tap, and who may attach. */
  readonly tun?: TunLinkInfo;
  /** IFLA_MASTER: the index of the bridge this link is a port of. */
  readonly master?: number;
  /** IFLA_STATS64: its counters when the reply carried them. */
  readonly stats?: LinkStats;
}

/** Decodes the u64 counters at the start of `struct rtnl_link_stats64` (undefined when too short). */
export function parseLinkStats(data: Buffer | undefined): LinkStats | undefined {
  if (!data || data.length < 64) return undefined;
  const u64 = (field: number): number => Number(data.readBigUInt64LE(field * 8));
  return {
    rxPackets: u64(0),
    txPackets: u64(1),
    rxBytes: u64(2),
    txBytes: u64(3),
    rxErrors: u64(4),
    txErrors: u64(5),
    rxDropped: u64(6),
    txDropped: u64(7),
  };
}

function parseVxlan(data: Buffer): VxlanLinkInfo {
  const a = parseAttrs(data);
  const addr = (v4: number, v6: number): string | undefined => {
    const b = a.get(v4) ?? a.get(v6);
    return b && (b.length === 4 || b.length === 16) ? formatIp(b) : undefined;
  };
  const local = addr(IFLA_VXLAN.LOCAL, IFLA_VXLAN.LOCAL6);
  const remote = addr(IFLA_VXLAN.GROUP, IFLA_VXLAN.GROUP6);
  const port = a.get(IFLA_VXLAN.PORT);
  return {
    vni: attrU32(a.get(IFLA_VXLAN.ID)) ?? 0,
    ...(local ? { local } : {}),
    ...(remote ? { remote } : {}),
    ...(port?.length === 2 ? { port: port.readUInt16BE(0) } : {}),
    ...(a.get(IFLA_VXLAN.DF)?.[0] === 1 ? { df: true } : {}),
  };
}

/** The kernel reports "no owner" as (uid_t)-1. */
const NO_ID = 0xffffffff;

function parseTun(data: Buffer): TunLinkInfo {
  const a = parseAttrs(data);
  const u8 = (type: number): number | undefined => a.get(type)?.[0];
  const owner = attrU32(a.get(IFLA_TUN.OWNER));
  const group = attrU32(a.get(IFLA_TUN.GROUP));
  return {
    type: u8(IFLA_TUN.TYPE) === TUN_TYPE.TAP ? 'tap' : 'tun',
    multiQueue: u8(IFLA_TUN.MULTI_QUEUE) === 1,
    persist: u8(IFLA_TUN.PERSIST) === 1,
    ...(owner !== undefined && owner !== NO_ID ? { owner } : {}),
    ...(group !== undefined && group !== NO_ID ? { group } : {}),
  };
}

/** Decodes the payload of an RTM_NEWLINK reply. */
export function parseLink(payload: Buffer): LinkInfo {
  const hdr = readIfinfomsg(payload);
  const attrs = parseAttrs(payload.subarray(16));
  const alias = attrString(attrs.get(IFLA.IFALIAS));
  const linkinfo = attrs.get(IFLA.LINKINFO);
  const info = linkinfo ? parseAttrs(linkinfo) : undefined;
  const kind = attrString(info?.get(IFLA_INFO.KIND));
  const data = info?.get(IFLA_INFO.DATA);
  const address = attrs.get(IFLA.ADDRESS);
  const link = attrU32(attrs.get(IFLA.LINK));
  const stats = parseLinkStats(attrs.get(IFLA.STATS64));
  const master = attrU32(attrs.get(IFLA.MASTER));
  return {
    index: hdr.index,
    name: attrString(attrs.get(IFLA.IFNAME)) ?? '',
    ...(alias ? { alias } : {}),
    ...(kind ? { kind } : {}),
    mtu: attrU32(attrs.get(IFLA.MTU)) ?? 0,
    flags: hdr.flags,
    up: (hdr.flags & IFF_UP) !== 0,
    ...(address?.length === 6 ? { mac: formatMac(address) } : {}),
    ...(link !== undefined ? { link } : {}),
    ...(kind === 'vxlan' && data ? { vxlan: parseVxlan(data) } : {}),
    ...(kind === 'tun' && data ? { tun: parseTun(data) } : {}),
    ...(master ? { master } : {}),
    ...(stats ? { stats } : {}),
  };
}

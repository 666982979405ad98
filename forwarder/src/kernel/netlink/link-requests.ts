import { invalidArgument } from '@nsm-ts/sdk/core';
import {
  type Attr,
  be16Attr,
  bytesAttr,
  encodeAttrs,
  nestedAttr,
  s32Attr,
  stringAttr,
  u32Attr,
  u8Attr,
} from './attributes.js';
import {
  IFF_UP,
  IFLA,
  IFLA_INFO,
  IFLA_VF,
  IFLA_VF_INFO,
  IFLA_VXLAN,
  NLM_F,
  RTM,
  VETH_INFO_PEER,
} from './constants.js';
import { parseIp, parseMac } from './inet.js';
import type { NetlinkRequest } from './message.js';
import { ifinfomsg } from './structs.js';
import { validateAlias, validateFd, validateIfIndex, validateIfName, validateInt } from './validate.js';

/** An interface by name or by index. */
export type LinkRef = string | number;

/** Changes {@link setLinkRequest} applies in one message. */
export interface LinkChanges {
  readonly up?: boolean;
  readonly mtu?: number;
  /** New name; the kernel applies it in the target namespace when combined with `nsFd`. */
  readonly name?: string;
  /** IFLA_IFALIAS; the forwarder stores the connection id here. */
  readonly alias?: string;
  /** Moves the link into the network namespace open at this descriptor. */
  readonly nsFd?: number;
  /** With `nsFd`: the index the link takes in its new namespace (EEXIST when taken there). */
  readonly newIndex?: number;
  /** Makes the link a port of the bridge with this index (0: no bridge). */
  readonly master?: number;
}

/** Parameters of a point-to-point VXLAN device. */
export interface VxlanOptions {
  readonly name: string;
  /** 24-bit VXLAN network identifier. */
  readonly vni: number;
  /** This node's tunnel address. */
  readonly local: string;
  /** The peer node's tunnel address (same family as `local`). */
  readonly remote: string;
  /** UDP destination port; 4789 unless configured otherwise. */
  readonly dstPort: number;
  readonly mtu?: number;
  /** Set don't-fragment on the outer packets (default: the kernel's, unset). */
  readonly df?: boolean;
}

/** The IANA VXLAN port, used unless NSM_VXLAN_PORT says otherwise. */
export const VXLAN_DEFAULT_PORT = 4789;

function selector(ref: LinkRef): { index: number; attrs: Attr[] } {
  if (typeof ref === 'number') {
    validateIfIndex(ref);
    return { index: ref, attrs: [] };
  }
  validateIfName(ref);
  return { index: 0, attrs: [stringAttr(IFLA.IFNAME, ref)] };
}

function mtuAttr(mtu: number | undefined): Attr[] {
  if (mtu === undefined) return [];
  validateInt(mtu, 68, 65535, 'MTU');
  return [u32Attr(IFLA.MTU, mtu)];
}

function createRequest(
  operation: string,
  name: string,
  kind: string,
  data: Attr[],
  extra: Attr[],
): NetlinkRequest {
  validateIfName(name);
  const info: Attr[] = [
    stringAttr(IFLA_INFO.KIND, kind),
    ...(data.length ? [nestedAttr(IFLA_INFO.DATA, data)] : []),
  ];
  return {
    operation,
    type: RTM.NEWLINK,
    flags: NLM_F.CREATE | NLM_F.EXCL,
    header: ifinfomsg(),
    attrs: [stringAttr(IFLA.IFNAME, name), ...extra, nestedAttr(IFLA.LINKINFO, info)],
  };
}

/** A veth pair; with `peerNsFd` the peer is born in that namespace, so it never needs moving. */
export function createVethRequest(
  name: string,
  peerName: string,
  peerNsFd?: number,
  mtu?: number,
): NetlinkRequest {
  validateIfName(peerName, 'peer name');
  const peerAttrs: Attr[] = [stringAttr(IFLA.IFNAME, peerName), ...mtuAttr(mtu)];
  if (peerNsFd !== undefined) {
    validateFd(peerNsFd, 'peer namespace descriptor');
    peerAttrs.push(s32Attr(IFLA.NET_NS_FD, peerNsFd));
  }
  // VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's own attributes.
  const peer = bytesAttr(VETH_INFO_PEER, Buffer.concat([ifinfomsg(), encodeAttrs(peerAttrs)]));
  return createRequest(`createVeth(${name}, ${peerName})`, name, 'veth', [peer], mtuAttr(mtu));
}

/** A VXLAN device with a single remote and learning off (the forwarder programs nothing else). */
export function createVxlanRequest(o: VxlanOptions): NetlinkRequest {
  validateInt(o.vni, 0, 0xffffff, 'VNI');
  validateInt(o.dstPort, 1, 65535, 'VXLAN port');
  const local = parseIp(o.local);
  const remote = parseIp(o.remote);
  if (local.family !== remote.family)
    throw invalidArgument(`VXLAN local ${o.local} and remote ${o.remote} differ in family`);
  const v4 = local.bytes.length === 4;
  const data = [
    u32Attr(IFLA_VXLAN.ID, o.vni),
    bytesAttr(v4 ? IFLA_VXLAN.LOCAL : IFLA_VXLAN.LOCAL6, local.bytes),
    bytesAttr(v4 ? IFLA_VXLAN.GROUP : IFLA_VXLAN.GROUP6, remote.bytes),
    be16Attr(IFLA_VXLAN.PORT, o.dstPort),
    u8Attr(IFLA_VXLAN.LEARNING, 0),
    ...(o.df ? [u8Attr(IFLA_VXLAN.DF, 1)] : []),
  ];
  return createRequest(`createVxlan(${o.name}, vni ${o.vni})`, o.name, 'vxlan', data, mtuAttr(o.mtu));
}

/** A link of a kind that needs no parameters (bridge, dummy, ...). */
export function createLinkRequest(name: string, kind: string, mtu?: number): NetlinkRequest {
  if (!/^[a-z0-9_-]{1,32}$/.test(kind)) throw invalidArgument(`"${kind}" is not a link kind`);
  return createRequest(`createLink(${name}, ${kind})`, name, kind, [], mtuAttr(mtu));
}

/** One RTM_SETLINK with every requested change. Renaming needs the index: the name attr is the new name. */
export function setLinkRequest(ref: LinkRef, changes: LinkChanges): NetlinkRequest {
  if (changes.name !== undefined && typeof ref !== 'number') {
    throw invalidArgument(`renaming "${ref}" needs its interface index`);
  }
  const sel = selector(ref);
  const attrs = [...sel.attrs, ...mtuAttr(changes.mtu)];
  if (changes.name !== undefined) {
    validateIfName(changes.name, 'new interface name');
    attrs.push(stringAttr(IFLA.IFNAME, changes.name));
  }
  if (changes.alias !== undefined) {
    validateAlias(changes.alias);
    attrs.push(stringAttr(IFLA.IFALIAS, changes.alias));
  }
  if (changes.nsFd !== undefined) {
    validateFd(changes.nsFd, 'namespace descriptor');
    attrs.push(s32Attr(IFLA.NET_NS_FD, changes.nsFd));
  }
  if (changes.newIndex !== undefined) {
    if (changes.nsFd === undefined) throw invalidArgument('newIndex only applies to a namespace move (nsFd)');
    validateIfIndex(changes.newIndex);
    attrs.push(s32Attr(IFLA.NEW_IFINDEX, changes.newIndex));
  }
  if (changes.master !== undefined) {
    if (changes.master !== 0) validateIfIndex(changes.master);
    attrs.push(u32Attr(IFLA.MASTER, changes.master));
  }
  const up = changes.up;
  const header = ifinfomsg({
    index: sel.index,
    flags: up ? IFF_UP : 0,
    change: up === undefined ? 0 : IFF_UP,
  });
  return { operation: `setLink(${ref})`, type: RTM.SETLINK, flags: 0, header, attrs };
}

/** What {@link setVfRequest} sets on one VF through its PF (`ip link set <pf> vf N mac .. vlan ..`). */
export interface VfSettings {
  /** The VF's administrative MAC; 00:00:00:00:00:00 clears it. */
  readonly mac?: string;
  /** Port VLAN the NIC tags and strips for the VF, 1..4094; 0 clears it. */
  readonly vlan?: number;
}

/** Sets MAC and/or VLAN of VF `vf` of the PF `pf` (RTM_SETLINK with IFLA_VFINFO_LIST). */
export function setVfRequest(pf: LinkRef, vf: number, settings: VfSettings): NetlinkRequest {
  validateInt(vf, 0, 0xffff, 'VF index');
  const sel = selector(pf);
  const entry: Attr[] = [];
  if (settings.mac !== undefined) {
    const mac = Buffer.alloc(4 + 32);
    mac.writeUInt32LE(vf, 0);
    parseMac(settings.mac).copy(mac, 4);
    entry.push(bytesAttr(IFLA_VF.MAC, mac));
  }
  if (settings.vlan !== undefined) {
    validateInt(settings.vlan, 0, 4094, 'VF VLAN');
    const vlan = Buffer.alloc(12);
    vlan.writeUInt32LE(vf, 0);
    vlan.writeUInt32LE(settings.vlan, 4);
    entry.push(bytesAttr(IFLA_VF.VLAN, vlan));
  }
  if (entry.length === 0) throw invalidArgument(`setVf(${pf}, ${vf}): nothing to set, expected mac or vlan`);
  return {
    operation: `setVf(${pf}, vf ${vf})`,
    type: RTM.SETLINK,
    flags: 0,
    header: ifinfomsg({ index: sel.index }),
    attrs: [...sel.attrs, nestedAttr(IFLA.VFINFO_LIST, [nestedAttr(IFLA_VF_INFO, entry)])],
  };
}

/** Deletes a link (a veth takes its peer with it). */
export function deleteLinkRequest(ref: LinkRef): NetlinkRequest {
  const sel = selector(ref);
  return {
    operation: `deleteLink(${ref})`,
    type: RTM.DELLINK,
    flags: 0,
    header: ifinfomsg({ index: sel.index }),
    attrs: sel.attrs,
  };
}

/** Reads one link; the reply is an RTM_NEWLINK message. */
export function getLinkRequest(ref: LinkRef): NetlinkRequest {
  const sel = selector(ref);
  return {
    operation: `getLink(${ref})`,
    type: RTM.GETLINK,
    flags: 0,
    header: ifinfomsg({ index: sel.index }),
    attrs: sel.attrs,
  };
}

/** Dumps every link of the namespace. */
export function listLinksRequest(): NetlinkRequest {
  return {
    operation: 'listLinks()',
    type: RTM.GETLINK,
    flags: 0,
    header: ifinfomsg(),
    attrs: [],
    dump: true,
  };
}

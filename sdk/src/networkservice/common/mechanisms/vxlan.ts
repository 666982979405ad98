/** The VXLAN mechanism: the remote wire between two forwarders. */
import { newMechanism } from '../../../api/builders.js';
import { MechanismClass, MechanismType, type Mechanism } from '../../../api/types.js';
import { invalidArgument } from '../../../core/errors.js';
import { formatIp, tryParseIp } from '../../../tools/cidr/ip.js';

/** The IANA VXLAN port (NSM_VXLAN_PORT default). */
export const DEFAULT_VXLAN_PORT = 4789;
/** Bytes VXLAN adds over IPv4: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD_IPV4 = 50;
/** Bytes VXLAN adds over IPv6 (the outer header is 20 bytes longer). */
export const VXLAN_OVERHEAD_IPV6 = 70;
/** VNIs are 24-bit. */
export const MAX_VNI = 0xffffff;

/** Typed VXLAN parameters (the NSM API); absent ones are left out. */
export interface VxlanParameters {
  srcIp?: string;
  dstIp?: string;
  srcPort?: number;
  dstPort?: number;
  vni?: number;
  mtu?: number;
  origSrcIp?: string;
  origDstIp?: string;
}

const keys = {
  srcIp: 'src_ip',
  dstIp: 'dst_ip',
  srcPort: 'src_port',
  dstPort: 'dst_port',
  vni: 'vni',
  mtu: 'MTU',
  origSrcIp: 'orig_src_ip',
  origDstIp: 'orig_dst_ip',
} as const satisfies Record<keyof VxlanParameters, string>;

const limits = {
  srcPort: [0, 65535, 'a UDP port 0..65535'],
  dstPort: [0, 65535, 'a UDP port 0..65535'],
  vni: [0, MAX_VNI, `a VNI 0..${MAX_VNI} (24 bits)`],
  mtu: [0, 0xffffffff, 'an MTU in bytes'],
} as const;
type NumberKey = keyof typeof limits;
const ipKeys = ['srcIp', 'dstIp', 'origSrcIp', 'origDstIp'] as const;

function parseNumber(key: NumberKey, text: string): number {
  const [min, max, expected] = limits[key];
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max))
    throw invalidArgument(`VXLAN parameter "${keys[key]}" is "${text}": expected ${expected}`);
  return n;
}

function parseAddress(key: (typeof ipKeys)[number], text: string): string {
  const ip = tryParseIp(text);
  if (!ip)
    throw invalidArgument(`VXLAN parameter "${keys[key]}" is "${text}": expected an IPv4 or IPv6 address`);
  return formatIp(ip);
}

/**
 * Writes `params` into `m` (validated; `undefined` values leave a parameter alone).
 * Usage: `setVxlanParameters(mech, { dstIp: '192.168.0.2', dstPort: 4789, vni })`.
 */
export function setVxlanParameters(m: Mechanism, params: VxlanParameters): void {
  for (const key of ipKeys) {
    const value = params[key];
    if (value !== undefined) m.parameters[keys[key]] = parseAddress(key, value);
  }
  for (const key of Object.keys(limits) as NumberKey[]) {
    const value = params[key];
    if (value !== undefined) m.parameters[keys[key]] = String(parseNumber(key, String(value)));
  }
}

/** A VXLAN mechanism (cls REMOTE). Usage: `vxlanMechanism({ srcIp: '192.168.0.1', srcPort: 4789 })`. */
export function vxlanMechanism(params: VxlanParameters = {}): Mechanism {
  const m = newMechanism(MechanismType.VXLAN, MechanismClass.REMOTE);
  setVxlanParameters(m, params);
  return m;
}

/** Whether `m` is a VXLAN mechanism. */
export function isVxlan(m: Mechanism | null | undefined): m is Mechanism {
  return m?.type === MechanismType.VXLAN;
}

/**
 * The typed parameters of a VXLAN mechanism; throws INVALID_ARGUMENT naming a malformed one.
 * Usage: `const { srcIp, vni } = vxlanParameters(conn.mechanism)`.
 */
export function vxlanParameters(m: Mechanism): VxlanParameters {
  const out: VxlanParameters = {};
  for (const key of ipKeys) {
    const text = m.parameters[keys[key]];
    if (text !== undefined && text !== '') out[key] = parseAddress(key, text);
  }
  for (const key of Object.keys(limits) as NumberKey[]) {
    const text = m.parameters[keys[key]];
    if (text !== undefined && text !== '') out[key] = parseNumber(key, text);
  }
  return out;
}

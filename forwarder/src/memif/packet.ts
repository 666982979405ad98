import { invalidArgument } from '@nsm-ts/sdk/core';

/** Ethernet header length and the ethertypes the responder knows. */
export const ETH_HEADER = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
/** An ARP packet for IPv4 over Ethernet: 28 bytes after the Ethernet header. */
export const ARP_LENGTH = 28;
/** The shortest Ethernet frame without its FCS; shorter replies are padded to it. */
export const MIN_FRAME = 60;

const BROADCAST = Buffer.alloc(6, 0xff);

/** An IPv4 address and prefix, e.g. from `10.60.0.2/24`. */
export interface Ipv4Cidr {
  address: Buffer;
  prefix: number;
  text: string;
}

/** Parses `a.b.c.d/n` (or a bare address, taken as /32). Throws INVALID_ARGUMENT naming the input. */
export function parseIpv4Cidr(cidr: string): Ipv4Cidr {
  if (typeof cidr !== 'string')
    throw invalidArgument(`ip must be a string like 10.60.0.2/24, got ${typeof cidr}`);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr);
  const parts = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m?.[5] === undefined ? 32 : Number(m[5]);
  if (!m || parts.some((p) => p > 255) || prefix > 32) {
    throw invalidArgument(`ip "${cidr}" is not an IPv4 address with an optional prefix (10.60.0.2/24)`);
  }
  return { address: Buffer.from(parts), prefix, text: cidr };
}

/** Parses `aa:bb:cc:dd:ee:ff`. Throws INVALID_ARGUMENT naming the input. */
export function parseMac(mac: string): Buffer {
  if (typeof mac !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) {
    throw invalidArgument(`mac "${String(mac)}" is not an Ethernet address like 02:fe:0a:3c:00:02`);
  }
  const b = Buffer.from(mac.replaceAll(':', ''), 'hex');
  if (b[0]! & 1) throw invalidArgument(`mac ${mac} is a multicast address; expected a unicast one`);
  return b;
}

/** A locally administered MAC derived from an IPv4 address: 02:fe:a:b:c:d. */
export function macForIp(ip: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x02, 0xfe]), ip]);
}

/** The Internet checksum (RFC 1071) of `b`. */
export function inetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** What one frame was to the responder: a reply to send, not for us, or malformed. */
export type Answer =
  { kind: 'arp' | 'icmp'; reply: Buffer } | { kind: 'ignored' } | { kind: 'bad'; why: string };

const IGNORED: Answer = { kind: 'ignored' };

function pad(b: Buffer): Buffer {
  return b.length >= MIN_FRAME ? b : Buffer.concat([b, Buffer.alloc(MIN_FRAME - b.length)]);
}

function answerArp(f: Buffer, ip: Buffer, mac: Buffer): Answer {
  if (f.length < ETH_HEADER + ARP_LENGTH) return { kind: 'bad', why: `ARP frame of ${f.length} bytes` };
  const a = f.subarray(ETH_HEADER);
  if (a.readUInt16BE(0) !== 1 || a.readUInt16BE(2) !== ETHERTYPE_IPV4 || a[4] !== 6 || a[5] !== 4) {
    return { kind: 'bad', why: 'ARP not for IPv4 over Ethernet' };
  }
  if (a.readUInt16BE(6) !== 1 || !a.subarray(24, 28).equals(ip)) return IGNORED; // not a request for us
  const r = Buffer.alloc(ETH_HEADER + ARP_LENGTH);
  a.copy(r, 0, 8, 14); // requester's MAC becomes the destination
  mac.copy(r, 6);
  r.writeUInt16BE(ETHERTYPE_ARP, 12);
  const ra = r.subarray(ETH_HEADER);
  a.copy(ra, 0, 0, 6); // htype, ptype, hlen, plen
  ra.writeUInt16BE(2, 6);
  mac.copy(ra, 8);
  ip.copy(ra, 14);
  a.copy(ra, 18, 8, 18); // target: the requester's MAC and IP
  return { kind: 'arp', reply: pad(r) };
}

function answerIcmp(f: Buffer, ip: Buffer, mac: Buffer): Answer {
  const p = f.subarray(ETH_HEADER);
  if (p.length < 20) return { kind: 'bad', why: `IPv4 packet of ${p.length} bytes` };
  const ihl = (p[0]! & 0x0f) * 4;
  const total = p.readUInt16BE(2);
  if (p[0]! >> 4 !== 4 || ihl < 20) return { kind: 'bad', why: 'not an IPv4 header' };
  if (total < ihl || total > p.length)
    return { kind: 'bad', why: `IPv4 total length ${total} of ${p.length}` };
  if (inetChecksum(p.subarray(0, ihl)) !== 0) return { kind: 'bad', why: 'IPv4 header checksum' };
  if (p[9] !== 1 || !p.subarray(16, 20).equals(ip)) return IGNORED;
  if ((p.readUInt16BE(6) & 0x3fff) !== 0) return IGNORED; // fragments are not reassembled here
  const icmp = p.subarray(ihl, total);
  if (icmp.length < 8) return { kind: 'bad', why: `ICMP message of ${icmp.length} bytes` };
  if (inetChecksum(icmp) !== 0) return { kind: 'bad', why: 'ICMP checksum' };
  if (icmp[0] !== 8 || icmp[1] !== 0) return IGNORED; // only echo requests
  const r = Buffer.alloc(ETH_HEADER + total);
  f.copy(r, 0, 6, 12);
  mac.copy(r, 6);
  r.writeUInt16BE(ETHERTYPE_IPV4, 12);
  const rp = r.subarray(ETH_HEADER);
  p.copy(rp, 0, 0, total);
  p.copy(rp, 16, 12, 16); // the requester becomes the destination
  ip.copy(rp, 12);
  rp[8] = 64;
  rp.writeUInt16BE(0, 10);
  rp.writeUInt16BE(inetChecksum(rp.subarray(0, ihl)), 10);
  const ri = rp.subarray(ihl);
  ri[0] = 0;
  ri.writeUInt16BE(0, 2);
  ri.writeUInt16BE(inetChecksum(ri), 2);
  return { kind: 'icmp', reply: pad(r) };
}

/**
 * What an ARP + ICMP echo responder at `ip`/`mac` answers to one Ethernet frame. Never throws:
 * anything it cannot parse is `bad`, anything well-formed but not for it is `ignored`.
 */
export function answerFrame(f: Buffer, ip: Buffer, mac: Buffer): Answer {
  if (f.length < ETH_HEADER) return { kind: 'bad', why: `frame of ${f.length} bytes` };
  const dst = f.subarray(0, 6);
  const type = f.readUInt16BE(12);
  if (type === ETHERTYPE_ARP) {
    return dst.equals(BROADCAST) || dst.equals(mac) ? answerArp(f, ip, mac) : IGNORED;
  }
  if (type === ETHERTYPE_IPV4) return dst.equals(mac) ? answerIcmp(f, ip, mac) : IGNORED;
  return IGNORED;
}

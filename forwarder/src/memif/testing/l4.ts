import { inetChecksum } from '../packet.js';

/** Our addresses on the test wire (the responder's IPv4, a static IPv6 neighbour). */
export const ME4 = Buffer.from([10, 60, 0, 2]);
export const ME6 = Buffer.from('fd000060000000000000000000000002', 'hex'); // fd00:60::2

/** A received TCP or UDP frame to us: its sizes, whether its checksum is right, TCP's seq/SYN. */
export interface L4 {
  v6: boolean;
  proto: number;
  frameLen: number;
  payload: number;
  checksumOk: boolean;
  seq: number;
  syn: boolean;
}

/** The IP header at `ip` (IPv4 or IPv6), its transport part, and the pseudo header it sums with. */
function split(
  ip: Buffer,
): { v6: boolean; proto: number; l4: Buffer; pseudo: Buffer; dst: Buffer } | undefined {
  const v6 = ip[0]! >> 4 === 6;
  if (v6) {
    if (ip.length < 40) return undefined;
    const l4 = ip.subarray(40, 40 + ip.readUInt16BE(4));
    const pseudo = Buffer.alloc(40);
    ip.copy(pseudo, 0, 8, 40);
    pseudo.writeUInt32BE(l4.length, 32);
    pseudo[39] = ip[6]!;
    return { v6, proto: ip[6]!, l4, pseudo, dst: ip.subarray(24, 40) };
  }
  const ihl = (ip[0]! & 15) * 4;
  const l4 = ip.subarray(ihl, ip.readUInt16BE(2));
  const pseudo = Buffer.alloc(12);
  ip.copy(pseudo, 0, 12, 20);
  pseudo[9] = ip[9]!;
  pseudo.writeUInt16BE(l4.length, 10);
  return { v6, proto: ip[9]!, l4, pseudo, dst: ip.subarray(16, 20) };
}

export function parseL4(f: Buffer): L4 | undefined {
  const type = f.length >= 34 ? f.readUInt16BE(12) : 0;
  if (type !== 0x0800 && type !== 0x86dd) return undefined;
  const p = split(f.subarray(14));
  if (!p || (p.proto !== 6 && p.proto !== 17) || !p.dst.equals(p.v6 ? ME6 : ME4)) return undefined;
  const hdr = p.proto === 6 ? (p.l4[12]! >> 4) * 4 : 8;
  return {
    v6: p.v6,
    proto: p.proto,
    frameLen: f.length,
    payload: p.l4.length - hdr,
    checksumOk: inetChecksum(Buffer.concat([p.pseudo, p.l4])) === 0,
    seq: p.proto === 6 ? p.l4.readUInt32BE(4) : 0,
    syn: p.proto === 6 && (p.l4[13]! & 0x02) !== 0,
  };
}

/** A SYN-ACK (MSS 1460) from port 7 to the SYN in `syn` (IPv4 or IPv6), so the peer starts sending. */
export function synAck(syn: Buffer, mac: Buffer): Buffer {
  const v6 = syn.readUInt16BE(12) === 0x86dd;
  const iphl = v6 ? 40 : 20;
  const r = Buffer.alloc(14 + iphl + 24);
  syn.copy(r, 0, 6, 12);
  mac.copy(r, 6);
  r.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  const ip = r.subarray(14);
  const sip = syn.subarray(14);
  if (v6) {
    ip[0] = 0x60;
    ip.writeUInt16BE(24, 4);
    ip[6] = 6;
    ip[7] = 64;
    ME6.copy(ip, 8);
    sip.copy(ip, 24, 8, 24);
  } else {
    ip[0] = 0x45;
    ip.writeUInt16BE(44, 2);
    ip[8] = 64;
    ip[9] = 6;
    ME4.copy(ip, 12);
    sip.copy(ip, 16, 12, 16);
    ip.writeUInt16BE(inetChecksum(ip.subarray(0, 20)), 10);
  }
  const tcp = ip.subarray(iphl);
  const s = split(sip)!.l4;
  tcp.writeUInt16BE(7, 0);
  tcp.writeUInt16BE(s.readUInt16BE(0), 2);
  tcp.writeUInt32BE(1000, 4);
  tcp.writeUInt32BE((s.readUInt32BE(4) + 1) >>> 0, 8);
  tcp[12] = 6 << 4;
  tcp[13] = 0x12;
  tcp.writeUInt16BE(65535, 14);
  Buffer.from([2, 4, 0x05, 0xb4]).copy(tcp, 20);
  tcp.writeUInt16BE(inetChecksum(Buffer.concat([split(ip)!.pseudo, tcp])), 16);
  return r;
}

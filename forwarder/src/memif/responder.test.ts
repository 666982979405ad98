import { EventEmitter } from 'node:events';

import { describe, expect, test } from 'vitest';

import type { MemifInterface } from './interface.js';
import { answerFrame, inetChecksum, macForIp, parseIpv4Cidr, parseMac } from './packet.js';
import { answerArpAndIcmp } from './responder.js';

const ME = Buffer.from([10, 60, 0, 2]);
const MY_MAC = macForIp(ME);
const PEER = Buffer.from([10, 60, 0, 1]);
const PEER_MAC = Buffer.from('0a0000000001', 'hex');

function arpRequest(target: Buffer = ME, dst: Buffer = Buffer.alloc(6, 0xff)): Buffer {
  const f = Buffer.alloc(42);
  dst.copy(f, 0);
  PEER_MAC.copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14);
  f.writeUInt16BE(0x0800, 16);
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20);
  PEER_MAC.copy(f, 22);
  PEER.copy(f, 28);
  target.copy(f, 38);
  return f;
}

function echoRequest(o: { dst?: Buffer; payload?: number; type?: number; frag?: number } = {}): Buffer {
  const payload = o.payload ?? 56;
  const total = 20 + 8 + payload;
  const f = Buffer.alloc(14 + total);
  MY_MAC.copy(f, 0);
  PEER_MAC.copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  const ip = f.subarray(14);
  ip[0] = 0x45;
  ip.writeUInt16BE(total, 2);
  ip.writeUInt16BE(0x1234, 4);
  ip.writeUInt16BE(o.frag ?? 0x4000, 6);
  ip[8] = 63;
  ip[9] = 1;
  PEER.copy(ip, 12);
  (o.dst ?? ME).copy(ip, 16);
  ip.writeUInt16BE(inetChecksum(ip.subarray(0, 20)), 10);
  const icmp = ip.subarray(20);
  icmp[0] = o.type ?? 8;
  icmp.writeUInt16BE(0x77, 4);
  icmp.writeUInt16BE(3, 6);
  for (let i = 8; i < icmp.length; i++) icmp[i] = i & 0xff;
  icmp.writeUInt16BE(inetChecksum(icmp), 2);
  return f;
}

describe('ARP + ICMP echo responder', () => {
  test('answers an ARP request for its IP with its MAC', () => {
    const a = answerFrame(arpRequest(), ME, MY_MAC);
    expect(a.kind).toBe('arp');
    const r = (a as { reply: Buffer }).reply;
    expect(r.length).toBe(60);
    expect(r.subarray(0, 6)).toEqual(PEER_MAC);
    expect(r.subarray(6, 12)).toEqual(MY_MAC);
    expect(r.readUInt16BE(12)).toBe(0x0806);
    expect(r.readUInt16BE(20)).toBe(2); // reply
    expect(r.subarray(22, 28)).toEqual(MY_MAC);
    expect(r.subarray(28, 32)).toEqual(ME);
    expect(r.subarray(32, 38)).toEqual(PEER_MAC);
    expect(r.subarray(38, 42)).toEqual(PEER);
    // A unicast request to our MAC is answered too; one for another IP is not.
    expect(answerFrame(arpRequest(ME, MY_MAC), ME, MY_MAC).kind).toBe('arp');
    expect(answerFrame(arpRequest(Buffer.from([10, 60, 0, 9])), ME, MY_MAC).kind).toBe('ignored');
    expect(answerFrame(arpRequest(ME, PEER_MAC), ME, MY_MAC).kind).toBe('ignored');
  });

  test('answers an ICMP echo request with a reply whose checksums are right', () => {
    const req = echoRequest({ payload: 100 });
    const a = answerFrame(req, ME, MY_MAC);
    expect(a.kind).toBe('icmp');
    const r = (a as { reply: Buffer }).reply;
    expect(r.length).toBe(req.length);
    expect(r.subarray(0, 6)).toEqual(PEER_MAC);
    expect(r.subarray(6, 12)).toEqual(MY_MAC);
    const ip = r.subarray(14);
    expect(inetChecksum(ip.subarray(0, 20))).toBe(0);
    expect(ip.subarray(12, 16)).toEqual(ME);
    expect(ip.subarray(16, 20)).toEqual(PEER);
    expect(ip[8]).toBe(64);
    const icmp = ip.subarray(20);
    expect(icmp[0]).toBe(0);
    expect(inetChecksum(icmp)).toBe(0);
    expect(icmp.readUInt16BE(4)).toBe(0x77); // identifier and sequence kept
    expect(icmp.readUInt16BE(6)).toBe(3);
    expect(icmp.subarray(8)).toEqual(req.subarray(14 + 28));
    // An odd payload length checksums right as well; a small one is padded to 60 bytes.
    const odd = answerFrame(echoRequest({ payload: 7 }), ME, MY_MAC) as { reply: Buffer };
    expect(odd.reply.length).toBe(60);
    expect(inetChecksum(odd.reply.subarray(34, 34 + 15))).toBe(0);
  });

  test('ignores frames not for it', () => {
    expect(answerFrame(echoRequest({ dst: Buffer.from([10, 60, 0, 3]) }), ME, MY_MAC).kind).toBe('ignored');
    expect(answerFrame(echoRequest({ type: 0 }), ME, MY_MAC).kind).toBe('ignored'); // a reply
    expect(answerFrame(echoRequest({ frag: 0x2000 }), ME, MY_MAC).kind).toBe('ignored');
    const otherMac = echoRequest();
    PEER_MAC.copy(otherMac, 0);
    expect(answerFrame(otherMac, ME, MY_MAC).kind).toBe('ignored');
    const ipv6 = echoRequest();
    ipv6.writeUInt16BE(0x86dd, 12);
    expect(answerFrame(ipv6, ME, MY_MAC).kind).toBe('ignored');
    const udp = echoRequest();
    udp[14 + 9] = 17;
    udp.writeUInt16BE(0, 14 + 10);
    udp.writeUInt16BE(inetChecksum(udp.subarray(14, 34)), 14 + 10);
    expect(answerFrame(udp, ME, MY_MAC).kind).toBe('ignored');
  });

  test('counts malformed frames as bad: truncated, wrong lengths, wrong checksums, wrong ARP kinds', () => {
    const bad = (f: Buffer): string => answerFrame(f, ME, MY_MAC).kind;
    expect(bad(Buffer.alloc(0))).toBe('bad');
    expect(bad(Buffer.alloc(13))).toBe('bad');
    expect(bad(arpRequest().subarray(0, 41))).toBe('bad');
    const hlen = arpRequest();
    hlen[18] = 8;
    expect(bad(hlen)).toBe('bad');
    const req = echoRequest();
    expect(bad(req.subarray(0, 14 + 19))).toBe('bad');
    expect(bad(req.subarray(0, 14 + 27))).toBe('bad'); // total length beyond the frame
    const ihl = Buffer.from(req);
    ihl[14] = 0x44;
    expect(bad(ihl)).toBe('bad');
    const version = Buffer.from(req);
    version[14] = 0x65;
    expect(bad(version)).toBe('bad');
    const sum = Buffer.from(req);
    sum[14 + 10]! ^= 1;
    expect(bad(sum)).toBe('bad');
    const icmpSum = Buffer.from(req);
    icmpSum[14 + 20 + 2]! ^= 1;
    expect(bad(icmpSum)).toBe('bad');
    const short = echoRequest({ payload: 0 });
    short.writeUInt16BE(24, 14 + 2); // 4 bytes of ICMP
    short.writeUInt16BE(0, 14 + 10);
    short.writeUInt16BE(inetChecksum(short.subarray(14, 34)), 14 + 10);
    expect(bad(short)).toBe('bad');
  });

  test('random and mutated frames never throw', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const bases = [arpRequest(), echoRequest(), echoRequest({ payload: 1400 })];
    for (let i = 0; i < 20_000; i++) {
      const base = bases[i % bases.length]!;
      const f = Buffer.from(base.subarray(0, Math.floor(rnd() * (base.length + 1))));
      for (let k = 0; k < 3; k++) if (f.length) f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
      expect(() => answerFrame(f, ME, MY_MAC)).not.toThrow();
    }
  });

  test('on an interface: replies go out in one batch, counters say what happened', () => {
    const sent: Buffer[][] = [];
    const iface = Object.assign(new EventEmitter(), {
      send: (frames: Buffer[]) => (sent.push(frames), frames.length - 1),
    }) as unknown as MemifInterface;
    const r = answerArpAndIcmp(iface, { ip: '10.60.0.2/24' });
    expect(r.mac).toBe('02:fe:0a:3c:00:02');
    iface.emit('frames', [arpRequest(), echoRequest(), Buffer.alloc(5), echoRequest({ type: 0 })]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toHaveLength(2);
    expect(r.stats()).toEqual({ arp: 1, icmp: 1, ignored: 1, bad: 1, dropped: 1 });
    r.stop();
    iface.emit('frames', [arpRequest()]);
    expect(r.stats().arp).toBe(1);
  });

  test('options are checked with clear errors', () => {
    expect(parseIpv4Cidr('10.60.0.2/24')).toMatchObject({ prefix: 24 });
    expect(parseIpv4Cidr('10.60.0.2').prefix).toBe(32);
    for (const bad of ['10.60.0/24', '10.60.0.256/24', '10.60.0.2/33', 'fe80::1']) {
      expect(() => parseIpv4Cidr(bad)).toThrow(expect.objectContaining({ code: 3 }));
    }
    expect(parseMac('02:00:00:00:00:0A')).toEqual(Buffer.from('02000000000a', 'hex'));
    expect(() => parseMac('01:00:5e:00:00:01')).toThrow(/multicast/);
    expect(() => parseMac('02:00:00:00:00')).toThrow(/not an Ethernet address/);
  });
});

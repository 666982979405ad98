import { describe, expect, it } from 'vitest';

import { Code } from '@nsm-ts/sdk/core';
import { encodeAttrs, nestedAttr, parseAttrs, stringAttr, u32Attr } from './attributes.js';
import { encodeBatch, settleBatch } from './batch.js';
import { NLM_F, NLMSG, RTM } from './constants.js';
import { KernelError } from './errors.js';
import { formatIp, parseCidr, parseIp, parseMac } from './inet.js';
import { createVethRequest, setLinkRequest, setVfRequest } from './link-requests.js';
import { type NetlinkMessage, decodeAck, encodeRequest, parseMessages } from './message.js';

/** Builds the NLMSG_ERROR reply the kernel would send for `seq`, with an extended-ack text. */
function errorReply(seq: number, errno: number, text?: string): Buffer {
  const tlv = text ? encodeAttrs([stringAttr(1, text)]) : Buffer.alloc(0);
  const body = Buffer.alloc(4 + 16);
  body.writeInt32LE(-errno, 0);
  body.writeUInt32LE(32, 4); // the echoed request header (capped: no payload)
  body.writeUInt32LE(seq, 12);
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + body.length + tlv.length, 0);
  hdr.writeUInt16LE(NLMSG.ERROR, 4);
  hdr.writeUInt16LE(NLM_F.CAPPED | (text ? NLM_F.ACK_TLVS : 0), 6);
  hdr.writeUInt32LE(seq, 8);
  return Buffer.concat([hdr, body, tlv]);
}

describe('netlink encoding', () => {
  it('pads attributes to 4 bytes and nests them', () => {
    const buf = encodeAttrs([stringAttr(3, 'eth0x'), nestedAttr(18, [u32Attr(1, 7)])]);
    expect(buf.length).toBe(12 + 12);
    expect(buf.readUInt16LE(0)).toBe(4 + 6); // "eth0x\0"
    const attrs = parseAttrs(buf);
    expect(attrs.get(3)?.toString()).toBe('eth0x\0');
    expect(
      parseAttrs(attrs.get(18) ?? Buffer.alloc(0))
        .get(1)
        ?.readUInt32LE(0),
    ).toBe(7);
  });

  it('frames a request with REQUEST|ACK and the sequence number', () => {
    const msg = encodeRequest(setLinkRequest(5, { up: true, mtu: 1400 }), 42);
    const [parsed] = parseMessages(msg);
    expect(msg.readUInt32LE(0)).toBe(msg.length);
    expect(parsed?.type).toBe(RTM.SETLINK);
    expect(parsed?.flags).toBe(NLM_F.REQUEST | NLM_F.ACK);
    expect(parsed?.seq).toBe(42);
    expect(parsed?.payload.readInt32LE(4)).toBe(5); // ifi_index
  });

  it('puts the veth peer ifinfomsg and namespace fd inside VETH_INFO_PEER', () => {
    const req = createVethRequest('a0', 'b0', 9);
    const linkinfo = parseAttrs(encodeAttrs(req.attrs)).get(18);
    const data = parseAttrs(linkinfo ?? Buffer.alloc(0)).get(2);
    const peer = parseAttrs(data ?? Buffer.alloc(0)).get(1) ?? Buffer.alloc(0);
    const peerAttrs = parseAttrs(peer.subarray(16));
    expect(peerAttrs.get(3)?.toString()).toBe('b0\0');
    expect(peerAttrs.get(28)?.readInt32LE(0)).toBe(9);
  });

  it('puts VF settings in IFLA_VFINFO_LIST > IFLA_VF_INFO as ifla_vf_mac and ifla_vf_vlan', () => {
    const req = setVfRequest('ens1f0', 3, { mac: '02:aa:00:00:00:01', vlan: 100 });
    const attrs = parseAttrs(encodeAttrs(req.attrs));
    expect(attrs.get(3)?.toString()).toBe('ens1f0\0');
    const info = parseAttrs(parseAttrs(attrs.get(22) ?? Buffer.alloc(0)).get(1) ?? Buffer.alloc(0));
    const mac = info.get(1) ?? Buffer.alloc(0);
    expect([mac.length, mac.readUInt32LE(0), mac.subarray(4, 10).toString('hex')]).toEqual([
      36,
      3,
      '02aa00000001',
    ]);
    const vlan = info.get(2) ?? Buffer.alloc(0);
    expect([vlan.readUInt32LE(0), vlan.readUInt32LE(4), vlan.readUInt32LE(8)]).toEqual([3, 100, 0]);
    expect(() => setVfRequest('ens1f0', 0, {})).toThrow('nothing to set, expected mac or vlan');
    expect(() => setVfRequest('ens1f0', 0, { vlan: 4095 })).toThrow('VF VLAN must be an integer in 0..4094');
  });

  it('decodes an error with the extended-ack message', () => {
    const [msg] = parseMessages(errorReply(7, 95, 'Unknown device type'));
    expect(decodeAck(msg as NetlinkMessage)).toEqual({ errno: 95, detail: 'Unknown device type' });
  });
});

describe('batch settlement', () => {
  const requests = [
    setLinkRequest(1, { up: true }),
    setLinkRequest(2, { up: true }),
    setLinkRequest(3, { up: true }),
  ];

  it('reports the first failing message by position, ignoring stale replies', () => {
    const batch = encodeBatch(requests, 100);
    const replies = parseMessages(
      Buffer.concat([errorReply(99, 22), errorReply(100, 0), errorReply(101, 19), errorReply(102, 17)]),
    );
    let caught: unknown;
    try {
      settleBatch(batch, replies);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KernelError);
    const err = caught as KernelError;
    expect(err.errnoName).toBe('ENODEV');
    expect(err.code).toBe(Code.NOT_FOUND);
    expect(err.position).toEqual({ index: 1, count: 3 });
    expect(err.message).toBe('setLink(2) (message 2 of 3) failed: ENODEV');
  });

  it('fails loudly when an ack is missing', () => {
    const batch = encodeBatch(requests, 1);
    expect(() => settleBatch(batch, parseMessages(errorReply(1, 0)))).toThrow(/no acknowledgement/);
  });
});

describe('addresses and names', () => {
  it('parses IPv4, IPv6 (compressed, embedded IPv4) and prefixes', () => {
    expect([...parseIp('10.1.2.3').bytes]).toEqual([10, 1, 2, 3]);
    expect(parseIp('fd00::1').bytes.toString('hex')).toBe('fd000000000000000000000000000001');
    expect(parseIp('::ffff:10.0.0.1').bytes.toString('hex')).toBe('00000000000000000000ffff0a000001');
    expect(parseIp('2001:db8:0:0:1::').bytes.toString('hex')).toBe('20010db8000000000001000000000000');
    expect(parseCidr('fd00::1/64').prefixLen).toBe(64);
    expect(parseCidr('10.0.0.1').prefixLen).toBe(32);
    expect(() => parseCidr('10.0.0.1/33')).toThrow(/invalid prefix length/);
    expect(() => parseIp('10.0.0.300')).toThrow(/invalid IP address "10.0.0.300": expected IPv4/);
    expect(parseMac('02:00:00:aa:bb:cc').toString('hex')).toBe('020000aabbcc');
  });

  it('formats addresses back, IPv6 in the short form', () => {
    for (const text of ['10.1.2.3', '::', '::1', 'fd00::1', 'fe80::1:0:0:2', '2001:db8:0:1:1:1:1:1', '1::']) {
      expect(formatIp(parseIp(text).bytes)).toBe(text);
    }
    expect(formatIp(parseIp('fd00:0:0:0:0:0:0:1').bytes)).toBe('fd00::1');
    expect(formatIp(parseIp('1:0:0:2:0:0:0:3').bytes)).toBe('1:0:0:2::3');
    expect(() => formatIp(Buffer.alloc(5))).toThrow(/5 bytes are not an IP address/);
  });

  it('rejects interface names the kernel would reject, before sending anything', () => {
    expect(() => setLinkRequest('a-name-of-16-chr', { up: true })).toThrow(
      /16 bytes long; Linux allows at most 15/,
    );
    expect(() => createVethRequest('ok', 'bad/name')).toThrow(/peer name "bad\/name"/);
    expect(() => setLinkRequest('eth0', { name: 'x' })).toThrow(/needs its interface index/);
    expect(() => setLinkRequest(3, { mtu: 10 })).toThrow(/MTU must be an integer in 68..65535/);
  });
});

import { describe, expect, it } from 'vitest';
import { encodeAttrs, nestedAttr, parseAttrs, stringAttr, u32Attr, u8Attr } from './attributes.js';
import { IFLA, IFLA_INFO, IFLA_TUN } from './constants.js';
import { parseLink, parseLinkStats } from './link-info.js';
import { setLinkRequest } from './link-requests.js';
import { ifinfomsg } from './structs.js';

/** `struct rtnl_link_stats64` with its first eight counters set (the rest zero, as the kernel pads). */
function stats64(values: number[]): Buffer {
  const b = Buffer.alloc(24 * 8);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), i * 8));
  return b;
}

describe('IFLA_STATS64', () => {
  it('is read into the link counters of an RTM_NEWLINK payload', () => {
    const big = 2 ** 40 + 7; // past 32 bits: only the 64-bit counters hold it
    const payload = Buffer.concat([
      ifinfomsg({ index: 7 }),
      encodeAttrs([
        stringAttr(IFLA.IFNAME, 'nsm-1'),
        { type: IFLA.STATS64, value: stats64([1, 2, big, 4, 5, 6, 7, 8]) },
      ]),
    ]);
    expect(parseLink(payload)).toMatchObject({
      index: 7,
      name: 'nsm-1',
      stats: {
        rxPackets: 1,
        txPackets: 2,
        rxBytes: big,
        txBytes: 4,
        rxErrors: 5,
        txErrors: 6,
        rxDropped: 7,
        txDropped: 8,
      },
    });
  });

  it('is absent when the reply has none, or one too short to be the struct', () => {
    const bare = Buffer.concat([ifinfomsg({ index: 3 }), encodeAttrs([stringAttr(IFLA.IFNAME, 'eth0')])]);
    expect(parseLink(bare).stats).toBeUndefined();
    expect(parseLinkStats(Buffer.alloc(63))).toBeUndefined();
    expect(parseLinkStats(undefined)).toBeUndefined();
  });
});

describe('tun/tap links and bridge ports', () => {
  const tunLink = (data: ReturnType<typeof u8Attr>[]) =>
    Buffer.concat([
      ifinfomsg({ index: 4 }),
      encodeAttrs([
        stringAttr(IFLA.IFNAME, 'vm0'),
        u32Attr(IFLA.MASTER, 9),
        nestedAttr(IFLA.LINKINFO, [stringAttr(IFLA_INFO.KIND, 'tun'), nestedAttr(IFLA_INFO.DATA, data)]),
      ]),
    ]);

  it('reads a tap: its type, queues, persistence, owner and the bridge it is a port of', () => {
    const link = parseLink(
      tunLink([
        u32Attr(IFLA_TUN.OWNER, 107),
        u32Attr(IFLA_TUN.GROUP, 0xffffffff),
        u8Attr(IFLA_TUN.TYPE, 2),
        u8Attr(IFLA_TUN.PERSIST, 1),
        u8Attr(IFLA_TUN.MULTI_QUEUE, 1),
      ]),
    );
    expect(link).toMatchObject({ kind: 'tun', master: 9 });
    // (gid_t)-1 is the kernel's "no group".
    expect(link.tun).toEqual({ type: 'tap', multiQueue: true, persist: true, owner: 107 });
  });

  it('reads a tun as tun', () => {
    expect(parseLink(tunLink([u8Attr(IFLA_TUN.TYPE, 1)])).tun).toEqual({
      type: 'tun',
      multiQueue: false,
      persist: false,
    });
  });

  it('writes IFLA_MASTER to make a port and 0 to release it', () => {
    const attrsOf = (master: number) => parseAttrs(encodeAttrs(setLinkRequest(4, { master }).attrs));
    expect(attrsOf(9).get(IFLA.MASTER)?.readUInt32LE(0)).toBe(9);
    expect(attrsOf(0).get(IFLA.MASTER)?.readUInt32LE(0)).toBe(0);
    expect(() => setLinkRequest(4, { master: -1 })).toThrow(/interface index/);
  });
});

import { describe, expect, it } from 'vitest';
import { encodeAttrs, stringAttr } from './attributes.js';
import { IFLA } from './constants.js';
import { parseLink, parseLinkStats } from './link-info.js';
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

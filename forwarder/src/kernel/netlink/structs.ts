// The fixed headers that follow nlmsghdr in rtnetlink requests, laid out as in <linux/rtnetlink.h>.

/** `struct ifinfomsg` (16 bytes). */
export function ifinfomsg(
  fields: { family?: number; index?: number; flags?: number; change?: number } = {},
): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(fields.family ?? 0, 0);
  b.writeInt32LE(fields.index ?? 0, 4);
  b.writeUInt32LE((fields.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((fields.change ?? 0) >>> 0, 12);
  return b;
}

/** Decoded `struct ifinfomsg`. */
export interface IfInfo {
  readonly family: number;
  readonly type: number;
  readonly index: number;
  readonly flags: number;
}

/** Reads `struct ifinfomsg` from the start of a payload. */
export function readIfinfomsg(p: Buffer): IfInfo {
  return {
    family: p.readUInt8(0),
    type: p.readUInt16LE(2),
    index: p.readInt32LE(4),
    flags: p.readUInt32LE(8),
  };
}

/** `struct ifaddrmsg` (8 bytes). */
export function ifaddrmsg(f: {
  family: number;
  prefixLen: number;
  flags: number;
  scope: number;
  index: number;
}): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(f.family, 0);
  b.writeUInt8(f.prefixLen, 1);
  b.writeUInt8(f.flags & 0xff, 2);
  b.writeUInt8(f.scope, 3);
  b.writeUInt32LE(f.index, 4);
  return b;
}

/** Fields of `struct rtmsg`. */
export interface RtmsgFields {
  readonly family: number;
  readonly dstLen: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly flags: number;
}

/** `struct rtmsg` (12 bytes). */
export function rtmsg(f: RtmsgFields): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(f.family, 0);
  b.writeUInt8(f.dstLen, 1);
  // src_len and tos stay 0: these routes select on destination only.
  b.writeUInt8(f.table, 4);
  b.writeUInt8(f.protocol, 5);
  b.writeUInt8(f.scope, 6);
  b.writeUInt8(f.type, 7);
  b.writeUInt32LE(f.flags >>> 0, 8);
  return b;
}

/** `struct ndmsg` (12 bytes). */
export function ndmsg(f: { family: number; index: number; state: number }): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(f.family, 0);
  b.writeInt32LE(f.index, 4);
  b.writeUInt16LE(f.state, 8);
  return b;
}

/** A route attribute (rtattr / nlattr): raw bytes, or nested attributes. */
export interface Attr {
  readonly type: number;
  readonly value: Buffer | readonly Attr[];
}

const ALIGN = 4;
const HEADER = 4;
// Set by some kernels on nested/network-order attributes; the type proper is below them.
const TYPE_MASK = 0x3fff;

/** Rounds a length up to the netlink 4-byte alignment. */
export function align(len: number): number {
  return (len + ALIGN - 1) & ~(ALIGN - 1);
}

/** Encodes attributes back to back, each padded to 4 bytes. */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  return Buffer.concat(attrs.map(encodeAttr));
}

function encodeAttr(attr: Attr): Buffer {
  const payload = Buffer.isBuffer(attr.value) ? attr.value : encodeAttrs(attr.value);
  const len = HEADER + payload.length;
  if (len > 0xffff) throw new RangeError(`netlink attribute ${attr.type} is too large (${len} bytes)`);
  const out = Buffer.alloc(align(len));
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(attr.type, 2);
  payload.copy(out, HEADER);
  return out;
}

/** Attribute with a native-endian u32 value. */
export function u32Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return { type, value: b };
}

/** Attribute with an s32 value (file descriptors). */
export function s32Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  return { type, value: b };
}

/** Attribute with a u8 value. */
export function u8Attr(type: number, value: number): Attr {
  return { type, value: Buffer.from([value]) };
}

/** Attribute with a network-order u16 value (UDP ports). */
export function be16Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return { type, value: b };
}

/** NUL-terminated string attribute. */
export function stringAttr(type: number, value: string): Attr {
  return { type, value: Buffer.from(`${value}\0`, 'utf8') };
}

/** Attribute with raw bytes (addresses). */
export function bytesAttr(type: number, value: Buffer | Uint8Array): Attr {
  return { type, value: Buffer.from(value) };
}

/** Nested attribute. */
export function nestedAttr(type: number, children: readonly Attr[]): Attr {
  return { type, value: children };
}

/** Splits attributes into a map by type; the last occurrence wins, which rtnetlink never repeats. */
export function parseAttrs(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = 0;
  while (buf.length - off >= HEADER) {
    const len = buf.readUInt16LE(off);
    if (len < HEADER || off + len > buf.length) break;
    out.set(buf.readUInt16LE(off + 2) & TYPE_MASK, buf.subarray(off + HEADER, off + len));
    off += align(len);
  }
  return out;
}

/** Decodes a NUL-terminated string attribute. */
export function attrString(value: Buffer | undefined): string | undefined {
  if (!value) return undefined;
  const end = value.indexOf(0);
  return value.toString('utf8', 0, end === -1 ? value.length : end);
}

/** Decodes a u32 attribute. */
export function attrU32(value: Buffer | undefined): number | undefined {
  return value && value.length >= 4 ? value.readUInt32LE(0) : undefined;
}

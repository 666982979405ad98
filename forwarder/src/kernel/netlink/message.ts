import { type Attr, align, attrString, encodeAttrs, parseAttrs } from './attributes.js';
import { NLM_F, NLMSG, NLMSGERR_ATTR } from './constants.js';

/** Size of `struct nlmsghdr`. */
export const NLMSG_HDRLEN = 16;

/** One request of a batch: what the kernel is asked, and how to name it in errors. */
export interface NetlinkRequest {
  /** Human-readable operation for error messages, e.g. `createVeth(a, b)`. */
  readonly operation: string;
  readonly type: number;
  /** Flags besides NLM_F_REQUEST; NLM_F_ACK is added unless this is a dump. */
  readonly flags: number;
  /** The fixed family header (ifinfomsg, ifaddrmsg, rtmsg, ndmsg). */
  readonly header: Buffer;
  readonly attrs: readonly Attr[];
  /** A dump ends with NLMSG_DONE rather than an ack. */
  readonly dump?: boolean;
}

/** A received netlink message. */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly payload: Buffer;
}

/** Encodes one request with the given sequence number. */
export function encodeRequest(req: NetlinkRequest, seq: number): Buffer {
  const body = Buffer.concat([
    req.header,
    Buffer.alloc(align(req.header.length) - req.header.length),
    encodeAttrs(req.attrs),
  ]);
  const hdr = Buffer.alloc(NLMSG_HDRLEN);
  hdr.writeUInt32LE(NLMSG_HDRLEN + body.length, 0);
  hdr.writeUInt16LE(req.type, 4);
  hdr.writeUInt16LE(NLM_F.REQUEST | (req.dump ? NLM_F.DUMP : NLM_F.ACK) | req.flags, 6);
  hdr.writeUInt32LE(seq >>> 0, 8);
  // nlmsg_pid 0: the kernel fills in our port id.
  return Buffer.concat([hdr, body]);
}

/** Splits a reply buffer into messages; a truncated tail is dropped. */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (buf.length - off >= NLMSG_HDRLEN) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align(len);
  }
  return out;
}

/** The outcome carried by an NLMSG_ERROR (ack) or NLMSG_DONE message. */
export interface AckStatus {
  /** Positive errno, or 0 for success. */
  readonly errno: number;
  /** The kernel's extended-ack message, when it gave one. */
  readonly detail?: string;
}

/** Decodes an ack / error / done message. */
export function decodeAck(msg: NetlinkMessage): AckStatus {
  const p = msg.payload;
  const errno = p.length >= 4 ? -p.readInt32LE(0) : 0;
  if (errno === 0 || !(msg.flags & NLM_F.ACK_TLVS)) return { errno };
  let tlvOffset = 4;
  if (msg.type === NLMSG.ERROR) {
    // The error carries the request's header, and its payload too unless the ack was capped.
    const echoed = msg.flags & NLM_F.CAPPED ? NLMSG_HDRLEN : p.length >= 8 ? p.readUInt32LE(4) : NLMSG_HDRLEN;
    tlvOffset += align(echoed);
  }
  const detail = attrString(parseAttrs(p.subarray(tlvOffset)).get(NLMSGERR_ATTR.MSG));
  return detail ? { errno, detail } : { errno };
}

/** Whether a message ends its request: an ack/error, or the end of a dump. */
export function isTerminal(msg: NetlinkMessage): boolean {
  return msg.type === NLMSG.ERROR || msg.type === NLMSG.DONE;
}

import type { MemifInterface } from '../interface.js';

const DST = Buffer.from('020000000002', 'hex');
const SRC = Buffer.from('020000000001', 'hex');

/** An Ethernet frame (02:..:02 ← 02:..:01, ethertype 0x88b5) of `len` bytes carrying `seq`. */
export function ethFrame(len: number, seq: number): Buffer {
  const b = Buffer.alloc(len, 0xa5);
  DST.copy(b, 0);
  SRC.copy(b, 6);
  b.writeUInt16BE(0x88b5, 12);
  b.writeUInt32BE(seq >>> 0, 14);
  return b;
}

/** Whether `f` is `ethFrame(len, seq)` with its MAC addresses swapped (as testpmd macswap does). */
export function isSwapped(f: Buffer): boolean {
  return f.subarray(0, 6).equals(SRC) && f.subarray(6, 12).equals(DST) && f.readUInt16BE(12) === 0x88b5;
}

/** The sequence number `ethFrame` put in `f`. */
export function seqOf(f: Buffer): number {
  return f.readUInt32BE(14);
}

/**
 * Sends `total` frames of `len` bytes (or `len(seq)` for frame `seq`) through `iface` in windows
 * of `window`, waiting for each window to come back from a reflecting peer; resolves with the
 * frames received.
 */
export async function exchange(
  iface: MemifInterface,
  total: number,
  len: number | ((seq: number) => number),
  window = 128,
): Promise<Buffer[]> {
  const lenOf = typeof len === 'number' ? () => len : len;
  const got: Buffer[] = [];
  const onFrames = (f: Buffer[]): void => void got.push(...f);
  iface.on('frames', onFrames);
  try {
    let sent = 0;
    const deadline = Date.now() + 20_000;
    while (got.length < total) {
      if (Date.now() > deadline)
        throw new Error(`exchange: ${got.length} of ${total} frames back after 20 s (sent ${sent})`);
      if (sent - got.length < window && sent < total) {
        const n = Math.min(window, total - sent);
        sent += iface.send(Array.from({ length: n }, (_, i) => ethFrame(lenOf(sent + i), sent + i)));
      }
      await new Promise((r) => setTimeout(r, sent - got.length >= window || sent === total ? 1 : 0));
    }
    return got;
  } finally {
    iface.off('frames', onFrames);
  }
}

/**
 * Sends copies of `batch` frames of `len` bytes as fast as the ring takes them until `stop` aborts;
 * yields to the event loop when the ring is full and every 8 batches. Resolves with the frames sent.
 */
export async function blast(
  iface: MemifInterface,
  len: number,
  stop: AbortSignal,
  batch = 256,
): Promise<number> {
  const frames = Array.from({ length: batch }, (_, i) => ethFrame(len, i));
  let sent = 0;
  for (let i = 0; !stop.aborted; i++) {
    const k = iface.send(frames);
    sent += k;
    if (k < batch || i % 8 === 7) await new Promise((r) => setImmediate(r));
  }
  return sent;
}

/** Counts the frames `iface` delivers from now on, until `off()`. */
export function countFrames(iface: MemifInterface): { readonly frames: number; off(): void } {
  let frames = 0;
  const onFrames = (f: Buffer[]): void => void (frames += f.length);
  iface.on('frames', onFrames);
  return {
    get frames() {
      return frames;
    },
    off: () => void iface.off('frames', onFrames),
  };
}

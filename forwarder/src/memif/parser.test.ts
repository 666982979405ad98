import { describe, expect, test } from 'vitest';

import { loadMemifAddon } from './native.js';

const addon = loadMemifAddon();
const parseMessage = (b: Buffer): Record<string, string | number> => addon.parseMessage(b);

function msg(type: number, fill: (b: Buffer) => void = () => undefined): Buffer {
  const b = Buffer.alloc(128);
  b.writeUInt16LE(type, 0);
  fill(b);
  return b;
}

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('memif control-message parser', () => {
  test('decodes each message type at the offsets of the packed 2.0 layout', () => {
    expect(
      parseMessage(
        msg(2, (b) => {
          b.write('vpp', 2);
          b.writeUInt16LE(0x200, 34);
          b.writeUInt16LE(0x200, 36);
          b.writeUInt16LE(3, 38);
          b.writeUInt16LE(1, 40);
          b.writeUInt16LE(2, 42);
          b[44] = 14;
        }),
      ),
    ).toEqual({
      type: 'HELLO',
      name: 'vpp',
      minVersion: 512,
      maxVersion: 512,
      maxRegion: 3,
      maxS2cRing: 1,
      maxC2sRing: 2,
      maxLog2RingSize: 14,
    });
    expect(
      parseMessage(
        msg(3, (b) => {
          b.writeUInt16LE(0x200, 2);
          b.writeUInt32LE(0xdeadbeef, 4);
          b[8] = 0;
          b.write('s3', 9);
          b.write('dpdk', 33);
        }),
      ),
    ).toEqual({ type: 'INIT', version: 512, id: 0xdeadbeef, mode: 0, secret: 's3', name: 'dpdk' });
    expect(parseMessage(msg(4, (b) => (b.writeUInt16LE(1, 2), b.writeBigUInt64LE(4096n, 4))))).toEqual({
      type: 'ADD_REGION',
      index: 1,
      size: 4096,
    });
    expect(
      parseMessage(
        msg(5, (b) => {
          b.writeUInt16LE(1, 2);
          b.writeUInt16LE(0, 4);
          b.writeUInt16LE(0, 6);
          b.writeUInt32LE(16512, 8);
          b[12] = 10;
          b.writeUInt16LE(0, 13);
        }),
      ),
    ).toEqual({
      type: 'ADD_RING',
      flags: 1,
      index: 0,
      region: 0,
      offset: 16512,
      log2RingSize: 10,
      privateHdrSize: 0,
    });
    expect(parseMessage(msg(6, (b) => b.write('memif0', 2)))).toEqual({
      type: 'CONNECT',
      interfaceName: 'memif0',
    });
    expect(parseMessage(msg(8, (b) => (b.writeUInt32LE(5, 2), b.write('bye', 6))))).toEqual({
      type: 'DISCONNECT',
      code: 5,
      reason: 'bye',
    });
    expect(parseMessage(msg(1))).toEqual({ type: 'ACK' });
  });

  test('refuses wrong sizes and unknown types with a reason', () => {
    expect(parseMessage(Buffer.alloc(0))).toEqual({ error: 'message of 0 bytes, expected 128' });
    expect(parseMessage(Buffer.alloc(127, 1))).toEqual({ error: 'message of 127 bytes, expected 128' });
    expect(parseMessage(Buffer.alloc(129, 1))).toEqual({ error: 'message of 129 bytes, expected 128' });
    expect(parseMessage(msg(0))).toEqual({ error: 'unknown message type 0' });
    expect(parseMessage(msg(9))).toEqual({ error: 'unknown message type 9' });
    expect(parseMessage(msg(0xffff))).toEqual({ error: 'unknown message type 65535' });
  });

  test('strings stop at the field end without a NUL and show only printable bytes', () => {
    const r = parseMessage(msg(8, (b) => b.fill(0xff, 6)));
    expect(r['reason']).toBe('?'.repeat(96));
    expect(parseMessage(msg(6, (b) => b.fill(0x41, 2)))['interfaceName']).toBe('A'.repeat(32));
  });

  test('fuzz: 50000 random and mutated messages decode or are refused, never crash', () => {
    const next = rng(7);
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8].map((t) => msg(t, (b) => b.fill(0x20, 2, 40)));
    let decoded = 0;
    let refused = 0;
    for (let i = 0; i < 50_000; i++) {
      let b: Buffer;
      if (next() < 0.3) {
        b = Buffer.alloc(Math.floor(next() * 300));
        for (let j = 0; j < b.length; j++) b[j] = Math.floor(next() * 256);
      } else {
        b = Buffer.from(seeds[Math.floor(next() * seeds.length)]!);
        for (let k = 1 + Math.floor(next() * 8); k > 0; k--)
          b[Math.floor(next() * 128)] = Math.floor(next() * 256);
        if (next() < 0.1) b = b.subarray(0, Math.floor(next() * 128));
      }
      const r = parseMessage(b);
      if ('error' in r) {
        refused++;
        expect(typeof r['error']).toBe('string');
      } else {
        decoded++;
        expect(b.length).toBe(128);
        for (const v of Object.values(r)) if (typeof v === 'string') expect(v).toMatch(/^[\x20-\x7e]*$/);
      }
    }
    expect(decoded).toBeGreaterThan(10_000);
    expect(refused).toBeGreaterThan(10_000);
  });
});

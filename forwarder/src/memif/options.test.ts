import { describe, expect, test } from 'vitest';

import { createMemifBridge, createMemifClient, createMemifProxy, createMemifServer } from './index.js';
import { loadMemifAddon } from './native.js';

describe('memif options', () => {
  test.each([
    [{ socket: '' }, /socket "" is empty; expected a path or @name/],
    [{ socket: '@' }, /socket "@" is empty/],
    [{ socket: 'a\0b' }, /contains a NUL byte/],
    [{ socket: `/tmp/${'x'.repeat(120)}` }, /is 125 bytes; at most 107/],
    [{ socket: 42 }, /socket must be a string, got number/],
    [{ socket: '@x', ringSize: 1000 }, /ringSize must be a power of two in 2..16384, got 1000/],
    [{ socket: '@x', ringSize: 32768 }, /ringSize must be an integer in 2..16384, got 32768/],
    [{ socket: '@x', bufferSize: 32 }, /bufferSize must be an integer in 64..65535, got 32/],
    [{ socket: '@x', bufferSize: 1.5 }, /bufferSize must be an integer/],
    [{ socket: '@x', id: -1 }, /interface id must be an integer in 0..4294967295, got -1/],
    [{ socket: '@x', id: 2 ** 32 }, /interface id must be an integer/],
    [{ socket: '@x', secret: 'x'.repeat(25) }, /secret is 25 bytes; at most 24/],
    [{ socket: '@x', mode: 'busy' }, /mode must be 'interrupt' or 'polling', got busy/],
    [{ socket: '@x', reconnectMs: 0 }, /reconnectMs must be an integer in 10..3600000/],
  ])('client %o is refused: %s', (opts, message) => {
    expect(() => createMemifClient(opts as never)).toThrow(
      expect.objectContaining({ code: 3, message: expect.stringMatching(message) as unknown }),
    );
  });

  test.each([
    [
      { memif: { role: 'peer', socket: '@x' }, kernel: { ifname: 'eth0' } },
      /memif.role must be 'server' or 'client', got peer/,
    ],
    [{ memif: { role: 'server', socket: '' }, kernel: { ifname: 'eth0' } }, /socket "" is empty/],
    [
      { memif: { role: 'client', socket: '@x', ringSize: 3 }, kernel: { ifname: 'eth0' } },
      /ringSize must be a power of two/,
    ],
    [
      { memif: { role: 'server', socket: '@x' }, kernel: { ifname: '' } },
      /kernel.ifname must be an interface name of 1..15 bytes, got ""/,
    ],
    [
      { memif: { role: 'server', socket: '@x' }, kernel: { ifname: 'x'.repeat(16) } },
      /kernel.ifname must be/,
    ],
    [
      { memif: { role: 'server', socket: '@x' }, kernel: { ifname: 'eth0', netns: '' } },
      /netns must be a namespace file path/,
    ],
    [
      { memif: { role: 'server', socket: '@x' }, kernel: { ifname: 'eth0' }, batch: 0 },
      /bridge batch must be an integer in 1..256, got 0/,
    ],
    [
      { memif: { role: 'server', socket: '@x' }, kernel: { ifname: 'eth0' }, batch: 257 },
      /bridge batch must be an integer in 1..256/,
    ],
    [{ memif: { role: 'server', socket: '@x' } }, /memif bridge options must be/],
  ])('bridge %o is refused: %s', (opts, message) => {
    expect(() => createMemifBridge(opts as never)).toThrow(
      expect.objectContaining({ code: 3, message: expect.stringMatching(message) as unknown }),
    );
  });

  test.each([
    [{ listen: { socket: '@x' } }, /proxy connect must be \{ socket, netns\? \}/],
    [{ listen: { socket: '@x' }, connect: { socket: 7 } }, /socket must be a string, got number/],
    [
      { listen: { socket: '@x' }, connect: { socket: '@y' }, requireSeal: 'yes' },
      /requireSeal must be a boolean/,
    ],
    [
      { listen: { socket: '@x' }, connect: { socket: '@y' }, handshakeTimeoutMs: 0 },
      /handshakeTimeoutMs must be an integer in 10..600000/,
    ],
  ])('proxy %o is refused: %s', (opts, message) => {
    expect(() => createMemifProxy(opts as never)).toThrow(
      expect.objectContaining({ code: 3, message: expect.stringMatching(message) as unknown }),
    );
  });

  test('server options are checked too', () => {
    expect(() => createMemifServer({ socket: '@x', interfaces: [] })).toThrow(/non-empty array/);
    expect(() => createMemifServer({ socket: '@x', interfaces: [{ id: 1 }, { id: 1 }] })).toThrow(
      /ids must be unique/,
    );
    expect(() => createMemifServer({ socket: '@x', interfaces: [{ id: 1.5 }] })).toThrow(
      /interface id must be an integer/,
    );
    expect(() => createMemifServer({ socket: '@x', maxPendingHandshakes: 0 })).toThrow(
      /maxPendingHandshakes must be an integer in 1..1024/,
    );
  });

  test('the native layer checks its arguments on its own and names them', () => {
    const addon = loadMemifAddon();
    expect(() =>
      addon.open({ role: 'peer' as never, socket: '@x', interfaces: [{ id: 0 }] }, () => undefined),
    ).toThrow(/role must be 'server' or 'client', got 'peer'/);
    expect(() =>
      addon.open({ role: 'client', socket: '@x', ringSize: 3, interfaces: [{ id: 0 }] }, () => undefined),
    ).toThrow(/ringSize must be a power of two, got 3/);
    expect(() =>
      addon.open({ role: 'client', socket: '@x', interfaces: [{ id: 0 }, { id: 1 }] }, () => undefined),
    ).toThrow(/exactly one interface/);
    expect(() => addon.send(null as never, 0, [])).toThrow(/not a memif handle/);
  });

  test('send checks frames: type, size, and the interface being open', () => {
    const srv = createMemifServer({ socket: `@nsm-memif-opt/${process.pid}` });
    try {
      const s = srv.interface(0);
      expect(() => s.send(['x'] as never)).toThrow(/frames\[0\] is not a Buffer or Uint8Array/);
      expect(() => s.send([Buffer.alloc(0)])).toThrow(/frames\[0\] is 0 bytes, expected 1..262144/);
      expect(() => s.send([Buffer.alloc(300_000)])).toThrow(/is 300000 bytes/);
      expect(s.send([new Uint8Array(10)])).toBe(0); // link down: nothing taken
      expect(s.stats().txNoSpace).toBe(1);
      expect(() => srv.interface(9)).toThrow(/serves no interface id 9/);
    } finally {
      srv.close();
    }
    expect(() => srv.interface(0).send([Buffer.alloc(1)])).toThrow(/closed/);
  });
});

import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { newRequest, toTimestamp } from '../../../api/builders.js';
import type { Connection, NetworkServiceRequest } from '../../../api/types.js';
import { toHandler, type NetworkServiceElement } from '../../../core/chain.js';
import { metadata } from '../../../core/metadata.js';
import { FakeClock } from '../../../core/clock.js';
import { createContext, type Context } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { begin } from '../begin/begin.js';
import { updatePath } from '../updatepath/updatepath.js';
import { expiryOf, timeout } from './timeout.js';

const MINUTE = 60_000;

/** The tail of the server: counts events; `gate` holds a request until released, `fail` refuses it. */
function probe() {
  const calls = { requests: 0, closes: [] as string[] };
  let gate: Promise<void> | undefined;
  let fail = false;
  const element: NetworkServiceElement = {
    async request(_ctx, req) {
      calls.requests++;
      await gate;
      if (fail) throw new NsmError(Code.UNAVAILABLE, 'refused by the test');
      return req.connection!;
    },
    close(_ctx, conn) {
      calls.closes.push(conn.id);
      return Promise.resolve();
    },
  };
  const hold = (): (() => void) => {
    let release = (): void => undefined;
    gate = new Promise((resolve) => (release = resolve));
    return () => {
      gate = undefined;
      release();
    };
  };
  return { calls, element, hold, setFail: (value: boolean) => void (fail = value) };
}

function setup(options: { logs?: string[] } = {}) {
  const clock = new FakeClock();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      options.logs?.push(chunk.toString());
      done();
    },
  });
  const ctx = createContext({ clock, log: pino({ level: 'info' }, stream) });
  const tail = probe();
  const server = toHandler([updatePath('nse'), begin(), metadata('server'), timeout(), tail.element]);
  return { clock, ctx, tail, server };
}

/** The NSC's request (or refresh) carrying its token's expiry in segment 0, `lifetime` from now. */
function fromClient(clock: FakeClock, lifetime: number, previous?: Connection): NetworkServiceRequest {
  const req = previous
    ? { connection: structuredClone(previous), mechanism_preferences: [] }
    : newRequest({
        id: 'a',
        path: { index: 0, path_segments: [{ name: 'nsc', id: 'a', token: 't', expires: null, metrics: {} }] },
      });
  req.connection!.path!.path_segments[0]!.expires = toTimestamp(clock.now() + lifetime);
  return req;
}

async function rejectsWith(promise: Promise<unknown>, code: Code): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

describe('timeout', () => {
  it('closes exactly at the expiry of the previous token, and not before', async () => {
    const logs: string[] = [];
    const { clock, ctx, tail, server } = setup({ logs });
    await server.request(ctx, fromClient(clock, 10 * MINUTE));
    await clock.advance(10 * MINUTE - 1);
    expect(tail.calls.closes).toEqual([]);
    await clock.advance(1);
    expect(tail.calls.closes).toHaveLength(1);
    expect(logs.join('')).toMatch(/timed out/);
    expect(clock.pending).toBe(0);
  });

  it('is reset by a refresh', async () => {
    const { clock, ctx, tail, server } = setup();
    const conn = await server.request(ctx, fromClient(clock, 10 * MINUTE));
    await clock.advance(5 * MINUTE);
    await server.request(ctx, fromClient(clock, 10 * MINUTE, conn));
    await clock.advance(10 * MINUTE - 1);
    expect(tail.calls.closes).toEqual([]);
    await clock.advance(1);
    expect(tail.calls.closes).toHaveLength(1);
  });

  it('is cancelled by a close', async () => {
    const { clock, ctx, tail, server } = setup();
    const conn = await server.request(ctx, fromClient(clock, 10 * MINUTE));
    await clock.advance(5 * MINUTE);
    await server.close(ctx, conn);
    expect(tail.calls.closes).toHaveLength(1);
    expect(clock.pending).toBe(0);
    await clock.advance(20 * MINUTE);
    expect(tail.calls.closes).toHaveLength(1);
  });

  it('keeps the old deadline when a refresh fails', async () => {
    const { clock, ctx, tail, server } = setup();
    const conn = await server.request(ctx, fromClient(clock, 10 * MINUTE));
    await clock.advance(5 * MINUTE);
    tail.setFail(true);
    await rejectsWith(server.request(ctx, fromClient(clock, 10 * MINUTE, conn)), Code.UNAVAILABLE);
    await clock.advance(5 * MINUTE);
    expect(tail.calls.closes).toHaveLength(1);
  });

  it('leaves no timer after a failed first request', async () => {
    const { clock, ctx, tail, server } = setup();
    tail.setFail(true);
    await rejectsWith(server.request(ctx, fromClient(clock, 10 * MINUTE)), Code.UNAVAILABLE);
    expect(clock.pending).toBe(0);
  });

  it('refuses a request whose token already expired, without calling next', async () => {
    const { clock, ctx, tail, server } = setup();
    await rejectsWith(server.request(ctx, fromClient(clock, 0)), Code.INVALID_ARGUMENT);
    await rejectsWith(server.request(ctx, fromClient(clock, -MINUTE)), Code.INVALID_ARGUMENT);
    expect(tail.calls.requests).toBe(0);
  });

  it('lets a refresh in flight at expiry decide: success keeps the connection', async () => {
    const { clock, ctx, tail, server } = setup();
    const conn = await server.request(ctx, fromClient(clock, 10 * MINUTE));
    await clock.advance(10 * MINUTE - 1);
    const release = tail.hold();
    const refreshed = server.request(ctx, fromClient(clock, 10 * MINUTE, conn));
    await clock.advance(1); // the deadline passes while the refresh is running
    release();
    await refreshed;
    await clock.advance(10 * MINUTE - 2);
    expect(tail.calls.closes).toEqual([]);
    await clock.advance(1);
    expect(tail.calls.closes).toHaveLength(1);
  });

  it('lets a refresh in flight at expiry decide: failure closes', async () => {
    const { clock, ctx, tail, server } = setup();
    const conn = await server.request(ctx, fromClient(clock, 10 * MINUTE));
    await clock.advance(10 * MINUTE - 1);
    const release = tail.hold();
    tail.setFail(true);
    const refreshed = server.request(ctx, fromClient(clock, 10 * MINUTE, conn));
    await clock.advance(1);
    expect(tail.calls.closes).toEqual([]);
    release();
    await rejectsWith(refreshed, Code.UNAVAILABLE);
    await expect.poll(() => tail.calls.closes).toHaveLength(1);
  });

  it("uses the connection's own segment when there is no previous one", async () => {
    const { clock, ctx, tail, server } = setup();
    const req = newRequest({
      id: 'x',
      path: {
        index: 0,
        path_segments: [
          { name: 'nse', id: 'x', token: '', expires: toTimestamp(clock.now() + MINUTE), metrics: {} },
        ],
      },
    });
    await server.request(ctx, req);
    await clock.advance(MINUTE);
    expect(tail.calls.closes).toEqual(['x']);
  });

  it('sets no timer without any expiry, and still closes', async () => {
    const { clock, ctx, tail, server } = setup();
    const conn = await server.request(ctx, newRequest());
    expect(clock.pending).toBe(0);
    await server.close(ctx, conn);
    expect(tail.calls.closes).toHaveLength(1);
  });

  it('needs begin before it', async () => {
    const ctx: Context = createContext({ clock: new FakeClock() });
    const alone = toHandler([updatePath('nse'), timeout()]);
    await expect(alone.request(ctx, newRequest())).rejects.toThrow(/begin/);
  });
});

describe('expiryOf', () => {
  const at = (ms: number) => toTimestamp(ms);
  const seg = (expires: ReturnType<typeof at> | null) => ({
    name: 'n',
    id: 'i',
    token: '',
    expires,
    metrics: {},
  });
  it('prefers the previous segment, falls back to the own one, else undefined', () => {
    expect(
      expiryOf({
        ...newRequest().connection!,
        path: { index: 1, path_segments: [seg(at(1000)), seg(at(2000))] },
      }),
    ).toBe(1000);
    expect(
      expiryOf({
        ...newRequest().connection!,
        path: { index: 1, path_segments: [seg(null), seg(at(2000))] },
      }),
    ).toBe(2000);
    expect(
      expiryOf({ ...newRequest().connection!, path: { index: 0, path_segments: [seg(null)] } }),
    ).toBeUndefined();
    expect(expiryOf(null)).toBeUndefined();
  });
});

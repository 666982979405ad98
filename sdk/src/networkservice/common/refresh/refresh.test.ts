import { describe, expect, it } from 'vitest';
import { newConnection, newRequest, toTimestamp } from '../../../api/builders.js';
import type { NetworkServiceRequest } from '../../../api/types.js';
import { element, toHandler, type NetworkServiceElement } from '../../../core/chain.js';
import { metadata } from '../../../core/metadata.js';
import { FakeClock } from '../../../core/clock.js';
import { createContext } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { begin } from '../begin/begin.js';
import { updatePath } from '../updatepath/updatepath.js';
import { refresh, refreshPlan } from './refresh.js';

const MINUTE = 60_000;

/** A test double standing in for a hop's token: stamps its own segment's expiry `lifetime` from now. */
function stamp(clock: FakeClock, lifetime: number): NetworkServiceElement {
  return element({
    request(ctx, req, next) {
      const path = req.connection!.path!;
      path.path_segments[path.index]!.expires = toTimestamp(clock.now() + lifetime);
      return next.request(ctx, req);
    },
  });
}

/** The far end: counts requests (with their times) and closes; `failures` refuses the next n requests. */
function probe(clock: FakeClock) {
  const state = { at: [] as number[], closes: 0, failures: 0, gate: undefined as Promise<void> | undefined };
  const element: NetworkServiceElement = {
    async request(_ctx, req: NetworkServiceRequest) {
      state.at.push(clock.now());
      await state.gate;
      if (state.failures > 0) {
        state.failures--;
        throw new NsmError(Code.UNAVAILABLE, 'refused by the test');
      }
      return req.connection!;
    },
    close() {
      state.closes++;
      return Promise.resolve();
    },
  };
  return { state, element };
}

/**
 * NSC → manager → forwarder → NSE in one process. The refreshing client sits at `clientIndex`: the
 * hops before it are plain updatePath elements (like a passthrough endpoint's own server side).
 */
function setup(options: { clientIndex?: number; lifetimes?: number[]; retryMs?: number } = {}) {
  const clock = new FakeClock();
  const ctx = createContext({ clock });
  const names = ['nsc', 'nsmgr', 'forwarder', 'nse'];
  const lifetimes = options.lifetimes ?? [10 * MINUTE, 10 * MINUTE, 10 * MINUTE, 10 * MINUTE];
  const clientIndex = options.clientIndex ?? 0;
  const far = probe(clock);
  const elements: NetworkServiceElement[] = [];
  names.forEach((name, i) => {
    elements.push(updatePath(name));
    if (i === clientIndex)
      elements.push(
        begin(),
        metadata('client'),
        refresh({ random: () => 0, ...(options.retryMs ? { retryMs: options.retryMs } : {}) }),
      );
    elements.push(stamp(clock, lifetimes[i]!));
  });
  const client = toHandler([...elements, far.element]);
  return { clock, ctx, client, far };
}

describe('refresh', () => {
  it('refreshes the NSC (index 0 of 4) at 0.2 of the time left', async () => {
    const { clock, ctx, client, far } = setup();
    const conn = await client.request(ctx, newRequest());
    await clock.advance(2 * MINUTE - 1);
    expect(far.state.at).toHaveLength(1);
    await clock.advance(1);
    expect(far.state.at).toHaveLength(2);
    await clock.advance(2 * MINUTE);
    expect(far.state.at).toHaveLength(3);
    await client.close(ctx, conn);
  });

  it('refreshes a client at index 2 of 4 at 0.3 of the time left', async () => {
    const { clock, ctx, client, far } = setup({ clientIndex: 2 });
    const conn = await client.request(ctx, newRequest());
    await clock.advance(3 * MINUTE - 1);
    expect(far.state.at).toHaveLength(1);
    await clock.advance(1);
    expect(far.state.at).toHaveLength(2);
    await client.close(ctx, conn);
  });

  it('plans by the earliest expiry on the path', async () => {
    const { clock, ctx, client, far } = setup({ lifetimes: [10 * MINUTE, 10 * MINUTE, MINUTE, 10 * MINUTE] });
    const conn = await client.request(ctx, newRequest());
    await clock.advance(12_000 - 1);
    expect(far.state.at).toHaveLength(1);
    await clock.advance(1);
    expect(far.state.at).toHaveLength(2);
    await client.close(ctx, conn);
  });

  it('retries after failures backing off from 200 ms, then goes back to the normal plan', async () => {
    const { clock, ctx, client, far } = setup();
    const conn = await client.request(ctx, newRequest());
    const start = clock.now();
    far.state.failures = 3;
    await clock.advance(2 * MINUTE + 1400);
    expect(far.state.at.map((t) => t - start)).toEqual([0, 120_000, 120_200, 120_600, 121_400]);
    await clock.advance(2 * MINUTE);
    expect(far.state.at.at(-1)! - start).toBe(121_400 + 120_000);
    await client.close(ctx, conn);
  });

  it('gives up retrying once the earliest token has expired', async () => {
    const { clock, ctx, client, far } = setup({ retryMs: 7_000 });
    await client.request(ctx, newRequest());
    far.state.failures = Infinity;
    await clock.advance(11 * MINUTE);
    const attempts = far.state.at.length;
    // 2 min, then every 7 s while a retry still lands before the expiry at 10 min: the last at 596 s.
    expect(attempts).toBe(1 + 1 + 68);
    expect(far.state.at.at(-1)).toBe(far.state.at[0]! + 596_000);
    expect(clock.pending).toBe(0);
    await clock.advance(10 * MINUTE);
    expect(far.state.at).toHaveLength(attempts);
  });

  it('stops after close, even with a retry pending', async () => {
    const { clock, ctx, client, far } = setup();
    const conn = await client.request(ctx, newRequest());
    far.state.failures = 1;
    await clock.advance(2 * MINUTE + 100); // one failed refresh, a retry pending
    expect(far.state.at).toHaveLength(2);
    await client.close(ctx, conn);
    expect(far.state.closes).toBe(1);
    expect(clock.pending).toBe(0);
    await clock.advance(30 * MINUTE);
    expect(far.state.at).toHaveLength(2);
  });

  it('does not retry a refresh that was queued behind a close', async () => {
    const { clock, ctx, client, far } = setup();
    const conn = await client.request(ctx, newRequest());
    await clock.advance(2 * MINUTE - 1);
    let release = (): void => undefined;
    far.state.gate = new Promise((resolve) => (release = resolve));
    const requested = client.request(ctx, { connection: conn, mechanism_preferences: [] }); // held
    const closed = client.close(ctx, conn); // queued behind the request
    await clock.advance(1); // the refresh fires and queues behind the close
    far.state.gate = undefined;
    release();
    await Promise.all([requested, closed]);
    await clock.advance(0); // lets the queued refresh fail on the closed connection
    expect(clock.pending).toBe(0);
    await clock.advance(10 * MINUTE);
    expect(far.state.at).toHaveLength(2);
    expect(far.state.closes).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('is rescheduled by every successful request', async () => {
    const { clock, ctx, client, far } = setup();
    const conn = await client.request(ctx, newRequest());
    await clock.advance(MINUTE);
    await client.request(ctx, { connection: conn, mechanism_preferences: [] });
    await clock.advance(2 * MINUTE - 1);
    expect(far.state.at).toHaveLength(2);
    await clock.advance(1);
    expect(far.state.at).toHaveLength(3);
    await client.close(ctx, conn);
  });

  it('schedules nothing after a failed first request or without any expiry', async () => {
    const { clock, ctx, client, far } = setup();
    far.state.failures = 1;
    await expect(client.request(ctx, newRequest())).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    expect(clock.pending).toBe(0);
    const plain = toHandler([
      updatePath('nsc'),
      begin(),
      metadata('client'),
      refresh(),
      probe(clock).element,
    ]);
    const conn = await plain.request(ctx, newRequest());
    expect(clock.pending).toBe(0);
    await plain.close(ctx, conn);
  });
});

describe('refreshPlan', () => {
  const seg = (ms: number | null) => ({
    name: 'n',
    id: 'i',
    token: '',
    expires: ms === null ? null : toTimestamp(ms),
    metrics: {},
  });
  it('scales the time left by 0.2 + 0.2 * index / len of the earliest expiry', () => {
    const conn = newConnection({
      path: {
        index: 3,
        path_segments: [seg(null), seg(100_000), seg(50_000), seg(null), seg(null), seg(null)],
      },
    });
    expect(refreshPlan(conn, 0)).toEqual({ delay: 15_000, expiresAt: 50_000 });
    expect(refreshPlan(newConnection({ path: { index: 0, path_segments: [seg(null)] } }), 0)).toBeUndefined();
    expect(refreshPlan(newConnection(), 0)).toBeUndefined();
    expect(refreshPlan(newConnection({ path: { index: 0, path_segments: [seg(1000)] } }), 5000)).toEqual({
      delay: 0,
      expiresAt: 1000,
    });
  });
});

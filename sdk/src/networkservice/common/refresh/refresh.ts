/**
 * refresh: the originating client (NSC, passthrough endpoint) re-requests its connection before the
 * tokens on its path expire, so no hop times it out. Other hops never refresh: they are refreshed.
 */
import { fromTimestamp } from '../../../api/builders.js';
import type { Connection } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import type { Context } from '../../../core/context.js';
import { metadataSlot } from '../../../core/metadata.js';
import { backoffDelay } from '../../../tools/backoff.js';
import { eventFactoryOf, type EventFactory } from '../begin/begin.js';

/** Options for `refresh`. */
export interface RefreshOptions {
  /** First pause after a failed refresh (default 200 ms); it grows with each failure, up to 5 s. */
  retryMs?: number;
  /** Randomness of the retry jitter (default Math.random); tests pass `() => 0`. */
  random?: () => number;
}

/** When to refresh a connection and until when retrying makes sense. */
export interface RefreshPlan {
  /** Milliseconds from now until the refresh. */
  delay: number;
  /** The earliest token expiry on the path (ms since the epoch). */
  expiresAt: number;
}

/**
 * Plans the next refresh of `conn` as seen by the client at `path.index`: the earliest expiry on the
 * path (the first hop to time out decides, as upstream) scaled by `0.2 + 0.2 * index / len`, so
 * outer clients of a chain refresh a little earlier than inner ones. `undefined` without any expiry.
 * Usage: `const plan = refreshPlan(conn, ctx.clock.now())`.
 */
export function refreshPlan(conn: Connection, now: number): RefreshPlan | undefined {
  const segments = conn.path?.path_segments ?? [];
  let expiresAt: number | undefined;
  for (const segment of segments) {
    const at = fromTimestamp(segment.expires);
    if (at !== undefined && (expiresAt === undefined || at < expiresAt)) expiresAt = at;
  }
  if (expiresAt === undefined) return undefined;
  const scale = 0.2 + (0.2 * (conn.path?.index ?? 0)) / segments.length;
  return { delay: Math.max(0, Math.floor((expiresAt - now) * scale)), expiresAt };
}

/** The pending refresh of one connection (its metadata); replaced by each successful request. */
interface Schedule {
  cancel: () => void;
}

const kSchedule = metadataSlot<Schedule>('refresh.schedule', 'client');

/**
 * The client element. Needs `begin()` and `metadata('client')` before it: refreshes are events
 * through the event factory, serialised with closes, and the pending one is the connection's
 * metadata, gone with it. Failed refreshes retry, backing off from `retryMs`, while the earliest
 * token is valid. Usage: `chain(updatePath(name), begin(), metadata('client'), refresh(), heal(...), ...)`.
 */
export function refresh(options: RefreshOptions = {}): NetworkServiceElement {
  const retryMs = options.retryMs ?? 200;

  const cancel = (ctx: Context): void => {
    kSchedule.get(ctx)?.cancel();
    kSchedule.delete(ctx);
  };

  const plan = (ctx: Context, conn: Connection, factory: EventFactory): void => {
    cancel(ctx);
    const upcoming = refreshPlan(conn, ctx.clock.now());
    if (!upcoming) return;
    const id = conn.id;
    const schedule: Schedule = { cancel: () => undefined };
    let failures = 0;
    const attempt = (): void => {
      // A success runs through this element again and replaces `schedule` with the next plan.
      factory.request().catch((err: unknown) => {
        if (kSchedule.get(ctx) !== schedule) return; // closed or re-planned meanwhile
        const pause = backoffDelay(++failures, {
          initialMs: retryMs,
          maxMs: Math.max(retryMs, 5_000),
          ...(options.random ? { random: options.random } : {}),
        });
        // A retry after the earliest expiry would come too late: that hop has timed the connection out.
        if (ctx.clock.now() + pause >= upcoming.expiresAt) {
          ctx.log.warn(
            { connId: id, err: String(err) },
            'refresh failed and the tokens expire before another attempt; giving up',
          );
          return;
        }
        ctx.log.warn({ connId: id, err: String(err), retryInMs: pause }, 'refresh failed; retrying');
        schedule.cancel = ctx.clock.after(pause, attempt);
      });
    };
    // Tokens that are already expired: one prompt attempt, but never a busy loop.
    const delay = upcoming.expiresAt <= ctx.clock.now() ? retryMs : upcoming.delay;
    schedule.cancel = ctx.clock.after(delay, attempt);
    kSchedule.set(ctx, schedule);
  };

  return {
    async request(ctx, req, next) {
      const factory = eventFactoryOf(ctx);
      const conn = await next.request(ctx, req);
      plan(ctx, conn, factory);
      return conn;
    },
    async close(ctx, conn, next) {
      cancel(ctx);
      await next.close(ctx, conn);
    },
  };
}

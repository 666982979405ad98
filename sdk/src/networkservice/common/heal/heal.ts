/**
 * heal: the originating client's repair loop. It watches its connection on the next hop (the manager);
 * when the connection is lost there (DOWN, DELETE, or the stream breaks), it asks the data-plane
 * liveness check: a healthy data plane means only the control plane broke, so it re-requests on the
 * same path; otherwise (or without a check) it re-selects. When the same path keeps failing (its
 * endpoint stopped, unregistered or refuses, although its pod still answers pings) it re-selects after
 * `sameAttempts` tries. Attempts repeat, backing off from `retryMs`, until one succeeds or the
 * connection is closed.
 */
import type { Connection } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import { sleep } from '../../../core/clock.js';
import type { Context } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { metadataSlot } from '../../../core/metadata.js';
import { backoffDelay } from '../../../tools/backoff.js';
import type { MeshClients } from '../../../grpc/client.js';
import { ConnectionClosedError, eventFactoryOf, type EventFactory } from '../begin/begin.js';
import { watchNextHop, type LossReason, type NextHopWatch } from '../monitor/watch-next-hop.js';

/** Says whether traffic still passes over the connection's data plane. */
export type LivenessCheck = (ctx: Context, conn: Connection) => Promise<boolean>;

/** Watches a connection's data plane continuously; calls `onFailure` once when it breaks. */
export interface DataPlaneMonitor {
  watch(ctx: Context, conn: Connection, onFailure: () => void): () => void;
}

/** Options for `heal`. */
export interface HealOptions {
  pool: MeshClients;
  /** The URL of the next hop (the manager) this client talks to. */
  url: string;
  livenessCheck?: LivenessCheck;
  /** Continuous data-plane watch (e.g. a ping every 200 ms): a broken data plane means reselect. */
  dataPlane?: DataPlaneMonitor;
  /** Pause after the first failed attempt (default 200 ms); it doubles with each failure, up to `maxRetryMs`. */
  retryMs?: number;
  /** Longest pause between attempts during a long outage (default 2 s). */
  maxRetryMs?: number;
  /** Randomness of the retry jitter (default Math.random); tests pass `() => 0`. */
  random?: () => number;
  /** Failed attempts on the same path before heal re-selects instead (default 3). */
  sameAttempts?: number;
  /** Told when a connection is lost, when an attempt fails and when it is healed. */
  onEvent?: (event: HealEvent) => void;
}

/** How heal repairs: on the path the connection had, or by choosing afresh. */
export type HealHow = 'same-path' | 'reselect';

/** What heal reports through `onEvent`. */
export type HealEvent =
  | { type: 'lost'; conn: Connection; reason: LossReason | 'data-plane' }
  | { type: 'failed'; conn: Connection; how: HealHow; attempt: number; error: string }
  | {
      type: 'healed';
      conn: Connection;
      how: HealHow;
      attempt: number;
      /** What was lost, as the `lost` event said. */
      reason: LossReason | 'data-plane';
      /** From the loss to the answer of the attempt that healed it, on the context clock. */
      durationMs: number;
    };

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A repair running for a connection; a data-plane break turns it to reselect. */
interface Repair {
  reselect: boolean;
  wake: AbortController;
}

// What heal keeps per connection is the connection's (client-side) metadata, gone with it.
const kWatch = metadataSlot<NextHopWatch>('heal.watch', 'client');
const kDataPlane = metadataSlot<() => void>('heal.dataPlane', 'client');
const kRepair = metadataSlot<Repair>('heal.repair', 'client');

function stopWatching(ctx: Context): void {
  kWatch.get(ctx)?.stop();
  kWatch.delete(ctx);
  kDataPlane.get(ctx)?.();
  kDataPlane.delete(ctx);
}

/** Usage: `createClient(...)` puts `heal({ pool, url })` after `begin()` and `metadata('client')` in the client chain. */
export function heal(options: HealOptions): NetworkServiceElement {
  const retryMs = options.retryMs ?? 200;
  const maxRetryMs = options.maxRetryMs ?? 2000;
  const sameAttempts = options.sameAttempts ?? 3;

  const repair = async (
    ctx: Context,
    factory: EventFactory,
    conn: Connection,
    reason: LossReason | 'data-plane',
    state: Repair,
  ): Promise<void> => {
    options.onEvent?.({ type: 'lost', conn, reason });
    const lostAt = ctx.clock.now();
    let samePathFailures = 0;
    for (let attempt = 1; ; attempt++) {
      const alive =
        !state.reselect && samePathFailures < sameAttempts && options.livenessCheck
          ? await options.livenessCheck(ctx, conn).catch(() => false)
          : false;
      const how: HealHow = alive ? 'same-path' : 'reselect';
      ctx.log.debug({ connId: conn.id, reason, how, attempt }, 'heal attempt');
      try {
        const healed = await (alive ? factory.request() : factory.reselect());
        ctx.log.info({ connId: conn.id, reason, how, attempt }, 'connection healed');
        options.onEvent?.({
          type: 'healed',
          conn: healed,
          how,
          attempt,
          reason,
          durationMs: ctx.clock.now() - lostAt,
        });
        return;
      } catch (err) {
        if (err instanceof ConnectionClosedError) return;
        // A path whose endpoint (or forwarder) is no longer registered cannot come back as it was:
        // reselect, at once.
        const gone = how === 'same-path' && NsmError.from(err).code === Code.NOT_FOUND;
        if (how === 'same-path') samePathFailures = gone ? sameAttempts : samePathFailures + 1;
        options.onEvent?.({ type: 'failed', conn, how, attempt, error: errorText(err) });
        if (gone) {
          ctx.log.info({ connId: conn.id, err: String(err) }, 'the path is gone; reselecting');
          continue;
        }
        // Quick retries first (a restarting hop is back in well under a second), then a calm pace and
        // an occasional warning, not one every 200 ms, during a long outage.
        const pause = backoffDelay(attempt, {
          initialMs: retryMs,
          maxMs: Math.max(retryMs, maxRetryMs),
          ...(options.random ? { random: options.random } : {}),
        });
        const level = attempt === 1 || attempt % 10 === 0 ? 'warn' : 'debug';
        ctx.log[level](
          { connId: conn.id, reason, how, attempt, err: String(err), retryInMs: pause },
          'heal attempt failed; retrying',
        );
        await sleep(ctx.clock, pause, state.wake.signal).catch(() => {
          state.wake = new AbortController(); // woken early: the data plane broke meanwhile
        });
      }
    }
  };

  /** Starts a repair, or tells the running one that the data plane broke too. */
  const startRepair = (
    ctx: Context,
    factory: EventFactory,
    conn: Connection,
    reason: LossReason | 'data-plane',
  ) => {
    const running = kRepair.get(ctx);
    if (running) {
      if (reason === 'data-plane' && !running.reselect) {
        running.reselect = true;
        running.wake.abort();
      }
      return;
    }
    const state: Repair = { reselect: reason === 'data-plane', wake: new AbortController() };
    kRepair.set(ctx, state);
    void repair(ctx, factory, conn, reason, state).finally(() => {
      if (kRepair.get(ctx) === state) kRepair.delete(ctx);
    });
  };

  const watch = (ctx: Context, conn: Connection): void => {
    stopWatching(ctx);
    const factory = eventFactoryOf(ctx);
    const w = watchNextHop(ctx, options.pool, options.url, conn, (reason) => {
      if (kWatch.get(ctx) === w) kWatch.delete(ctx);
      ctx.log.info({ connId: conn.id, reason }, 'connection lost on the control plane; healing');
      startRepair(ctx, factory, conn, reason);
    });
    if (w) kWatch.set(ctx, w);
    if (options.dataPlane) {
      const stop = options.dataPlane.watch(ctx, conn, () => {
        kDataPlane.delete(ctx);
        w?.stop();
        if (kWatch.get(ctx) === w) kWatch.delete(ctx);
        ctx.log.info({ connId: conn.id }, 'data plane broken; reselecting');
        startRepair(ctx, factory, conn, 'data-plane');
      });
      kDataPlane.set(ctx, stop);
    }
  };

  return {
    async request(ctx, req, next) {
      const conn = await next.request(ctx, req);
      watch(ctx, conn);
      return conn;
    },
    async close(ctx, conn, next) {
      stopWatching(ctx);
      await next.close(ctx, conn);
    },
  };
}

/**
 * refresh (client side): keeps a registration alive. After a successful Register it re-registers at
 * 2/3 of the remaining lifetime, retries failures every 200 ms until Unregister, and (heal) watches
 * its own name so that a registry restart or a lost record is repaired at once instead of at the
 * next refresh.
 */
import { clone, fromTimestamp, toTimestamp } from '../../api/builders.js';
import type { NetworkServiceEndpoint } from '../../api/types.js';
import type { Clock } from '../../core/clock.js';
import { detached, type Context } from '../../core/context.js';
import type { NseElement, NseHandler } from '../../core/registry-chain.js';
import { SerialExecutor } from '../../core/serial.js';
import { watchOwnRecord } from './watch-self.js';
import { backoffDelay } from '../../tools/backoff.js';

/** Options for `registryRefresh`. */
export interface RefreshOptions {
  /** Delay between attempts after a failure (default 200 ms). */
  retryMs?: number;
  /** Time budget of one refresh attempt (default 10 s). */
  attemptTimeoutMs?: number;
  /** Watch the own record and re-register when the stream breaks or reports it deleted (default true). */
  watch?: boolean;
  /** Clock for refresh timers (default: the registering call's context clock). */
  clock?: Clock;
  /** Randomness of the retry jitter (default Math.random); tests pass `() => 0`. */
  random?: () => number;
}

/** The refresh element; `close()` stops refreshing everything without unregistering. */
export type RefreshElement = NseElement & { close(): void; readonly refreshing: ReadonlySet<string> };

interface Entry {
  record: NetworkServiceEndpoint;
  lifetimeMs: number | undefined;
  ctx: Context;
  next: NseHandler;
  clock: Clock;
  cancelTimer?: () => void;
  stopWatch?: () => void;
  failing: boolean;
  /** Failed attempts in a row (for the backoff). */
  failures: number;
}

/**
 * Refreshes registrations made through it. Usage:
 * `toRegistryHandler([registryRefresh()], connectNse({ url: managerUrl, pool }))`.
 */
export function registryRefresh(options: RefreshOptions = {}): RefreshElement {
  const retryMs = options.retryMs ?? 200;
  const attemptMs = options.attemptTimeoutMs ?? 10_000;
  const executor = new SerialExecutor();
  const entries = new Map<string, Entry>();

  const stop = (entry: Entry): void => {
    entry.cancelTimer?.();
    entry.stopWatch?.();
    delete entry.cancelTimer;
    delete entry.stopWatch;
  };

  const schedule = (entry: Entry, ms: number): void => {
    entry.cancelTimer?.();
    entry.cancelTimer = entry.clock.after(ms, () => void attempt(entry));
  };

  const startWatch = (entry: Entry): void => {
    if (options.watch === false || entry.stopWatch) return;
    const stopWatch = watchOwnRecord(entry.ctx, entry.next, entry.record.name, (why) => {
      if (entry.stopWatch !== stopWatch || entries.get(entry.record.name) !== entry) return;
      delete entry.stopWatch;
      entry.ctx.log.info({ nse: entry.record.name, why }, 'registration watch lost; re-registering');
      schedule(entry, retryMs);
    });
    entry.stopWatch = stopWatch;
  };

  const adopt = (entry: Entry, result: NetworkServiceEndpoint): void => {
    const expires = fromTimestamp(result.expiration_time);
    entry.record = clone(result);
    entry.lifetimeMs = expires === undefined ? entry.lifetimeMs : Math.max(0, expires - entry.clock.now());
    // An already expired answer must not spin: treat it like a failure and come back after a pause.
    if (entry.lifetimeMs !== undefined)
      schedule(entry, entry.lifetimeMs > 0 ? (entry.lifetimeMs * 2) / 3 : retryMs);
    startWatch(entry);
  };

  const attempt = (entry: Entry): Promise<void> =>
    executor.run(entry.record.name, async () => {
      if (entries.get(entry.record.name) !== entry) return;
      delete entry.cancelTimer;
      const req = clone(entry.record);
      if (entry.lifetimeMs !== undefined)
        req.expiration_time = toTimestamp(entry.clock.now() + entry.lifetimeMs);
      const call = detached(entry.ctx, attemptMs);
      try {
        const result = await entry.next.register(call.ctx, req);
        if (entry.failing) entry.ctx.log.info({ nse: req.name }, 'registration refreshed again');
        entry.failing = false;
        entry.failures = 0;
        adopt(entry, result);
      } catch (err) {
        // Backing off with jitter: during a registry outage every endpoint and forwarder retries.
        const pause = backoffDelay(++entry.failures, {
          initialMs: retryMs,
          maxMs: Math.max(retryMs, 5_000),
          ...(options.random ? { random: options.random } : {}),
        });
        if (!entry.failing)
          entry.ctx.log.warn(
            { nse: req.name, err, retryInMs: pause },
            'registration refresh failed; retrying',
          );
        entry.failing = true;
        schedule(entry, pause);
      } finally {
        call.cancel();
      }
    });

  return {
    get refreshing(): ReadonlySet<string> {
      return new Set(entries.keys());
    },
    register: (ctx, nse, next) =>
      executor.run(nse.name, async () => {
        const result = await next.register(ctx, nse);
        const old = entries.get(result.name);
        if (old) stop(old);
        const entry: Entry = {
          record: result,
          lifetimeMs: undefined,
          ctx,
          next,
          clock: options.clock ?? ctx.clock,
          failing: false,
          failures: 0,
        };
        entries.set(result.name, entry);
        adopt(entry, result);
        return result;
      }),
    find: (ctx, query, next) => next.find(ctx, query),
    unregister: (ctx, nse, next) =>
      executor.run(nse.name, async () => {
        const entry = entries.get(nse.name);
        if (entry) {
          entries.delete(nse.name);
          stop(entry);
        }
        await next.unregister(ctx, nse);
      }),
    close() {
      for (const entry of entries.values()) stop(entry);
      entries.clear();
    },
  };
}

/**
 * expire: registrations live for a bounded time unless refreshed. Every NSE gets an expiration time
 * (at most `defaultLifetimeMs` from now), a timer per name unregisters it when that time passes
 * (so watchers see it deleted), and Find never returns an expired record.
 */
import { filter } from 'rxjs';
import { fromTimestamp, toTimestamp } from '../../api/builders.js';
import type { NetworkServiceEndpoint } from '../../api/types.js';
import type { Clock } from '../../core/clock.js';
import { detached, type Context } from '../../core/context.js';
import type { NseElement, NseHandler } from '../../core/registry-chain.js';
import { SerialExecutor } from '../../core/serial.js';

/** Options for `expire`. */
export interface ExpireOptions {
  /** Lifetime of a registration without (or with a longer) expiration time; default 60 s. */
  defaultLifetimeMs?: number;
  /** Clock for expiry; default the clock of each call's context. */
  clock?: Clock;
}

/** The expire element, with `close()` to cancel every pending expiry timer. */
export type ExpireElement = NseElement & { close(): void };

interface Entry {
  cancel: () => void;
}

/**
 * Bounds and enforces NSE lifetimes. Place it before the store so its expiry Unregister reaches the
 * store. Usage: `toRegistryHandler([expire({ defaultLifetimeMs: 60_000 }), memoryNseStore()])`.
 */
export function expire(options: ExpireOptions = {}): ExpireElement {
  const lifetime = options.defaultLifetimeMs ?? 60_000;
  const executor = new SerialExecutor();
  const entries = new Map<string, Entry>();
  const clockOf = (ctx: Context): Clock => options.clock ?? ctx.clock;

  const schedule = (ctx: Context, record: NetworkServiceEndpoint, next: NseHandler): void => {
    const clock = clockOf(ctx);
    const at = fromTimestamp(record.expiration_time) ?? clock.now() + lifetime;
    entries.get(record.name)?.cancel();
    const entry: Entry = {
      cancel: clock.after(at - clock.now(), () => {
        void executor.run(record.name, async () => {
          if (entries.get(record.name) !== entry) return; // refreshed or unregistered meanwhile
          entries.delete(record.name);
          const cleanup = detached(ctx);
          try {
            ctx.log.debug({ nse: record.name }, 'registration expired');
            await next.unregister(cleanup.ctx, record);
          } catch (err) {
            ctx.log.warn({ nse: record.name, err }, 'unregister of an expired registration failed');
          } finally {
            cleanup.cancel();
          }
        });
      }),
    };
    entries.set(record.name, entry);
  };

  return {
    register: (ctx, nse, next) =>
      executor.run(nse.name, async () => {
        const max = clockOf(ctx).now() + lifetime;
        const asked = fromTimestamp(nse.expiration_time);
        const expiration = asked === undefined || asked > max ? max : asked;
        const result = await next.register(ctx, { ...nse, expiration_time: toTimestamp(expiration) });
        schedule(ctx, result, next);
        return result;
      }),
    find(ctx, query, next) {
      const clock = clockOf(ctx);
      return next
        .find(ctx, query)
        .pipe(
          filter(
            (r) =>
              r.deleted ||
              !r.network_service_endpoint ||
              (fromTimestamp(r.network_service_endpoint.expiration_time) ?? Infinity) > clock.now(),
          ),
        );
    },
    unregister: (ctx, nse, next) =>
      executor.run(nse.name, async () => {
        await next.unregister(ctx, nse);
        entries.get(nse.name)?.cancel();
        entries.delete(nse.name);
      }),
    close() {
      for (const entry of entries.values()) entry.cancel();
      entries.clear();
    },
  };
}

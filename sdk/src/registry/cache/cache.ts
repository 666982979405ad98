/**
 * A registry cache for the hot path: a node's manager and forwarder look endpoints and services up on
 * every request and close. The cache lists everything once, follows a watch stream, and then answers
 * plain (non-watch) finds in process. Watches, registers and unregisters pass through (the latter two
 * also update the cache, so a client reads its own writes). Until the first list arrives, and after
 * the watch breaks until it is back, finds pass through too.
 */
import { Observable, from, toArray, lastValueFrom } from 'rxjs';
import { clone, fromTimestamp } from '../../api/builders.js';
import type { NetworkService, NetworkServiceEndpoint } from '../../api/types.js';
import { createContext, withoutCancel, type Context } from '../../core/context.js';
import type { Logger } from '../../core/log.js';
import { realClock, type Clock } from '../../core/clock.js';
import { backoffDelay } from '../../tools/backoff.js';
import type {
  NetworkServiceEndpointQuery,
  NetworkServiceEndpointResponse,
  NetworkServiceQuery,
  NetworkServiceResponse,
  RegistryHandler,
} from '../../core/registry-chain.js';
import { matchNs, matchNse } from '../memory/match.js';

interface Kind<T, Q, R> {
  what: string;
  all: Q;
  recordOf(r: R): T | null;
  queryOf(q: Q): { record: T | null; watch: boolean };
  /** Whether `record` answers `query` at time `now` (ms since the epoch, the caller's clock). */
  match(query: T | null, record: T, now: number): boolean;
  response(record: T): R;
  nameOf(record: T): string;
}

/** Options of a cache. */
export interface CacheOptions {
  log?: Logger;
  /** First pause before following the registry again after its watch broke (default 200 ms); it grows to 5 s. */
  retryMs?: number;
  /** The clock of those pauses (default the wall clock). */
  clock?: Clock;
}

/** A cached handler; `close()` ends its watch. */
export type CachedHandler<T, Q, R> = RegistryHandler<T, Q, R> & { close(): void; readonly synced: boolean };

function createCache<T, Q, R extends { deleted: boolean }>(
  kind: Kind<T, Q, R>,
  next: RegistryHandler<T, Q, R>,
  options: CacheOptions,
): CachedHandler<T, Q, R> {
  const records = new Map<string, T>();
  const retryMs = options.retryMs ?? 200;
  const clock = options.clock ?? realClock;
  let failures = 0;
  let synced = false;
  let closed = false;
  let generation = 0;
  let stop: (() => void) | undefined;

  const apply = (response: R): void => {
    const record = kind.recordOf(response);
    if (!record) return;
    if (response.deleted) records.delete(kind.nameOf(record));
    else records.set(kind.nameOf(record), record);
  };

  const follow = (): void => {
    if (closed) return;
    const mine = ++generation;
    records.clear(); // not synced until the list is in: nothing stale is ever served
    const { ctx, cancel } = withoutCancel(createContext(options.log ? { log: options.log } : {}));
    const again = (why: string): void => {
      cancel();
      if (mine !== generation) return; // the watch and the list may both fail: retry once
      generation++;
      synced = false;
      if (closed) return;
      options.log?.debug(
        { what: kind.what, why },
        'registry cache lost its watch; passing finds through until it is back',
      );
      // Back off while the registry stays away: every manager and forwarder is waiting for it.
      clock.after(backoffDelay(++failures, { initialMs: retryMs, maxMs: Math.max(retryMs, 5_000) }), follow);
    };
    // The watch first, so nothing registered while the list is in flight is missed.
    const sub = next.find(ctx, { ...kind.all, watch: true }).subscribe({
      next: apply,
      error: (err: unknown) => again(String(err)),
      complete: () => again('the watch ended'),
    });
    stop = () => {
      sub.unsubscribe();
      cancel();
    };
    lastValueFrom(next.find(ctx, kind.all).pipe(toArray())).then(
      (list) => {
        list.forEach(apply);
        synced = mine === generation && !sub.closed;
        if (synced) failures = 0;
      },
      (err: unknown) => again(String(err)),
    );
  };

  return {
    get synced() {
      return synced;
    },
    async register(ctx: Context, record: T) {
      const stored = await next.register(ctx, record);
      if (synced) records.set(kind.nameOf(stored), clone(stored));
      return stored;
    },
    find(ctx: Context, query: Q): Observable<R> {
      if (!stop) follow();
      const { record, watch } = kind.queryOf(query);
      if (watch || !synced) return next.find(ctx, query);
      const now = ctx.clock.now();
      return from(
        [...records.values()].filter((r) => kind.match(record, r, now)).map((r) => kind.response(clone(r))),
      );
    },
    async unregister(ctx: Context, record: T) {
      await next.unregister(ctx, record);
      records.delete(kind.nameOf(record));
    },
    close() {
      closed = true;
      synced = false;
      stop?.();
    },
  };
}

/** Caches NetworkServiceEndpoint finds of `next`. Usage: `const nse = cachedNseRegistry(manager.endpointRegistry)`. */
export function cachedNseRegistry(
  next: RegistryHandler<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse>,
  options: CacheOptions = {},
): CachedHandler<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse> {
  return createCache(
    {
      what: 'endpoints',
      all: { network_service_endpoint: null, watch: false },
      recordOf: (r) => r.network_service_endpoint,
      queryOf: (q) => ({ record: q.network_service_endpoint, watch: q.watch }),
      // Expired records linger until the registry deletes them; never hand them out.
      match: (query, record, now) =>
        matchNse(query, record) && !((fromTimestamp(record.expiration_time) ?? Infinity) < now),
      response: (record) => ({ network_service_endpoint: record, deleted: false }),
      nameOf: (record) => record.name,
    },
    next,
    options,
  );
}

/** Caches NetworkService finds of `next`. */
export function cachedNsRegistry(
  next: RegistryHandler<NetworkService, NetworkServiceQuery, NetworkServiceResponse>,
  options: CacheOptions = {},
): CachedHandler<NetworkService, NetworkServiceQuery, NetworkServiceResponse> {
  return createCache<NetworkService, NetworkServiceQuery, NetworkServiceResponse>(
    {
      what: 'network services',
      all: { network_service: null, watch: false },
      recordOf: (r) => r.network_service,
      queryOf: (q) => ({ record: q.network_service, watch: q.watch }),
      match: (query, record) => matchNs(query, record),
      response: (record) => ({ network_service: record, deleted: false }),
      nameOf: (record) => record.name,
    },
    next,
    options,
  );
}

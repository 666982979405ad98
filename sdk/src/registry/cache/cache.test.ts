import { firstValueFrom, Observable, Subject, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { newEndpoint, toTimestamp } from '../../api/builders.js';
import type { NetworkServiceEndpoint } from '../../api/types.js';
import { createContext } from '../../core/context.js';
import {
  registryElement,
  toRegistryHandler,
  type NseHandler,
  type NetworkServiceEndpointResponse,
} from '../../core/registry-chain.js';
import { memoryNseStore } from '../memory/memory.js';
import { cachedNseRegistry } from './cache.js';

const ctx = createContext();
const nse = (
  name: string,
  service = 'vpn',
  extra: Partial<NetworkServiceEndpoint> = {},
): NetworkServiceEndpoint =>
  newEndpoint({ name, network_service_names: [service], url: `unix:///run/${name}.sock`, ...extra });
const names = async (handler: NseHandler, service?: string): Promise<string[]> =>
  (
    await firstValueFrom(
      handler
        .find(ctx, {
          network_service_endpoint: service ? newEndpoint({ network_service_names: [service] }) : null,
          watch: false,
        })
        .pipe(toArray()),
    )
  )
    .map((r) => r.network_service_endpoint!.name)
    .sort();

/** A memory registry that counts the plain finds reaching it and can break its watches. */
function upstream(): { handler: NseHandler; plainFinds: () => number; breakWatches: () => void } {
  let plain = 0;
  let breaker = new Subject<never>();
  const counter = registryElement<
    NetworkServiceEndpoint,
    Parameters<NseHandler['find']>[1],
    NetworkServiceEndpointResponse
  >({
    find(c, query, next) {
      if (!query.watch) plain++;
      if (!query.watch) return next.find(c, query);
      return new Observable<NetworkServiceEndpointResponse>((sub) => {
        const a = next.find(c, query).subscribe(sub);
        const b = breaker.subscribe({ error: (e: unknown) => sub.error(e) });
        return () => {
          a.unsubscribe();
          b.unsubscribe();
        };
      });
    },
  });
  return {
    handler: toRegistryHandler([counter, memoryNseStore()]),
    plainFinds: () => plain,
    breakWatches: () => {
      const old = breaker;
      breaker = new Subject<never>(); // watches opened afterwards work again
      old.error(new Error('registry restarted'));
    },
  };
}

describe('cachedNseRegistry', () => {
  it('answers plain finds in process once synced, following the watch for changes', async () => {
    const up = upstream();
    await up.handler.register(ctx, nse('a'));
    const cache = cachedNseRegistry(up.handler);
    expect(await names(cache, 'vpn')).toEqual(['a']); // first find passes through and starts the watch
    await vi.waitFor(() => expect(cache.synced).toBe(true));
    const before = up.plainFinds();
    await up.handler.register(ctx, nse('b'));
    await up.handler.register(ctx, nse('c', 'db'));
    await vi.waitFor(async () => expect(await names(cache, 'vpn')).toEqual(['a', 'b']));
    expect(await names(cache, 'db')).toEqual(['c']);
    await up.handler.unregister(ctx, nse('a'));
    await vi.waitFor(async () => expect(await names(cache, 'vpn')).toEqual(['b']));
    expect(up.plainFinds()).toBe(before);
    cache.close();
  });

  it('reads its own writes and never serves an expired record', async () => {
    const up = upstream();
    const cache = cachedNseRegistry(up.handler);
    await names(cache);
    await vi.waitFor(() => expect(cache.synced).toBe(true));
    await cache.register(ctx, nse('fresh'));
    expect(await names(cache)).toEqual(['fresh']);
    // Registered through the cache, so it is cached at once; expired, so it is never handed out.
    await cache.register(ctx, nse('stale', 'vpn', { expiration_time: toTimestamp(Date.now() - 1000) }));
    expect(await names(up.handler)).toEqual(['fresh', 'stale']);
    expect(await names(cache)).toEqual(['fresh']);
    cache.close();
  });

  it('passes finds through while its watch is broken, then syncs again', async () => {
    const up = upstream();
    await up.handler.register(ctx, nse('a'));
    const cache = cachedNseRegistry(up.handler, { retryMs: 20 });
    await names(cache);
    await vi.waitFor(() => expect(cache.synced).toBe(true));
    up.breakWatches();
    expect(cache.synced).toBe(false);
    const before = up.plainFinds();
    expect(await names(cache)).toEqual(['a']);
    expect(up.plainFinds()).toBeGreaterThan(before);
    await vi.waitFor(() => expect(cache.synced).toBe(true));
    cache.close();
  });
});

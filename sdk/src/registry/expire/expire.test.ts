import { firstValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { fromTimestamp, newEndpoint, toTimestamp } from '../../api/builders.js';
import type { NetworkServiceEndpoint } from '../../api/types.js';
import { FakeClock } from '../../core/clock.js';
import { createContext } from '../../core/context.js';
import { toRegistryHandler, type NseHandler } from '../../core/registry-chain.js';
import { memoryNseStore } from '../memory/memory.js';
import { expire, type ExpireElement } from './expire.js';

const nse = (name: string, init: Partial<NetworkServiceEndpoint> = {}): NetworkServiceEndpoint =>
  newEndpoint({ name, network_service_names: ['vpn'], ...init });

describe('expire', () => {
  let clock: FakeClock;
  let element: ExpireElement;
  let handler: NseHandler;
  let store: NseHandler;

  const setup = (defaultLifetimeMs?: number): ReturnType<typeof createContext> => {
    clock = new FakeClock();
    element = expire(defaultLifetimeMs === undefined ? {} : { defaultLifetimeMs });
    store = toRegistryHandler([memoryNseStore()]);
    handler = toRegistryHandler([element], store);
    return createContext({ clock });
  };
  const found = async (ctx: ReturnType<typeof createContext>): Promise<string[]> =>
    (
      await firstValueFrom(
        handler.find(ctx, { network_service_endpoint: null, watch: false }).pipe(toArray()),
      )
    ).map((r) => r.network_service_endpoint!.name);

  afterEach(() => element.close());

  it('gives a registration without expiration time now + the default lifetime', async () => {
    const ctx = setup(30_000);
    const out = await handler.register(ctx, nse('a'));
    expect(fromTimestamp(out.expiration_time)).toBe(clock.now() + 30_000);
  });

  it('defaults the lifetime to one minute, keeps a shorter asked time and caps a longer one', async () => {
    const ctx = setup();
    expect(fromTimestamp((await handler.register(ctx, nse('a'))).expiration_time)).toBe(clock.now() + 60_000);
    const shorter = toTimestamp(clock.now() + 10_000);
    expect((await handler.register(ctx, nse('b', { expiration_time: shorter }))).expiration_time).toEqual(
      shorter,
    );
    const longer = toTimestamp(clock.now() + 3_600_000);
    expect(
      fromTimestamp((await handler.register(ctx, nse('c', { expiration_time: longer }))).expiration_time),
    ).toBe(clock.now() + 60_000);
  });

  it('removes an expired NSE and tells watchers it was deleted', async () => {
    const ctx = setup(60_000);
    await handler.register(ctx, nse('a'));
    const events: Array<[string, boolean]> = [];
    const sub = handler
      .find(ctx, { network_service_endpoint: null, watch: true })
      .subscribe((r) => events.push([r.network_service_endpoint!.name, r.deleted]));
    await clock.advance(59_999);
    expect(await found(ctx)).toEqual(['a']);
    await clock.advance(1);
    expect(events).toEqual([
      ['a', false],
      ['a', true],
    ]);
    expect(await found(ctx)).toEqual([]);
    // Gone from the store itself, not just hidden.
    expect(
      await firstValueFrom(store.find(ctx, { network_service_endpoint: null, watch: false }).pipe(toArray())),
    ).toEqual([]);
    expect(clock.pending).toBe(0);
    sub.unsubscribe();
  });

  it('never returns an expired record even before its timer ran', async () => {
    const ctx = setup();
    await store.register(ctx, nse('stale', { expiration_time: toTimestamp(clock.now() - 1) }));
    await store.register(ctx, nse('fresh', { expiration_time: toTimestamp(clock.now() + 1000) }));
    expect(await found(ctx)).toEqual(['fresh']);
  });

  it('re-registering extends the lifetime', async () => {
    const ctx = setup(60_000);
    await handler.register(ctx, nse('a'));
    await clock.advance(40_000);
    await handler.register(ctx, nse('a'));
    await clock.advance(30_000);
    expect(await found(ctx)).toEqual(['a']);
    expect(clock.pending).toBe(1);
    await clock.advance(30_000);
    expect(await found(ctx)).toEqual([]);
  });

  it('unregister cancels the expiry timer; a failed unregister keeps it', async () => {
    const ctx = setup();
    await handler.register(ctx, nse('a'));
    expect(clock.pending).toBe(1);
    await handler.unregister(ctx, nse('a'));
    expect(clock.pending).toBe(0);

    await handler.register(ctx, nse('b'));
    const failing = toRegistryHandler([element], {
      ...store,
      unregister: () => Promise.reject(new Error('store down')),
    });
    await expect(failing.unregister(ctx, nse('b'))).rejects.toThrow('store down');
    expect(clock.pending).toBe(1);
  });

  it('close cancels every pending timer', async () => {
    const ctx = setup();
    await handler.register(ctx, nse('a'));
    await handler.register(ctx, nse('b'));
    element.close();
    expect(clock.pending).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { fromTimestamp, newEndpoint, toTimestamp } from '../../api/builders.js';
import { FakeClock } from '../../core/clock.js';
import { createContext } from '../../core/context.js';
import { toRegistryHandler } from '../../core/registry-chain.js';
import { registrationTime } from './registration-time.js';

describe('registrationTime', () => {
  it('stamps the first registration and keeps the stamp on refreshes until unregistered', async () => {
    const clock = new FakeClock();
    const ctx = createContext({ clock });
    const handler = toRegistryHandler([registrationTime()]);
    const t0 = clock.now();
    const first = await handler.register(ctx, newEndpoint({ name: 'a', network_service_names: ['s'] }));
    expect(fromTimestamp(first.initial_registration_time)).toBe(t0);

    await clock.advance(20_000);
    // A refresh carrying another time (e.g. a lying client) keeps the first stamp.
    const refresh = await handler.register(ctx, { ...first, initial_registration_time: toTimestamp(0) });
    expect(fromTimestamp(refresh.initial_registration_time)).toBe(t0);
    const other = await handler.register(ctx, newEndpoint({ name: 'b', network_service_names: ['s'] }));
    expect(fromTimestamp(other.initial_registration_time)).toBe(t0 + 20_000);

    await handler.unregister(ctx, first);
    await clock.advance(5_000);
    const again = await handler.register(ctx, newEndpoint({ name: 'a', network_service_names: ['s'] }));
    expect(fromTimestamp(again.initial_registration_time)).toBe(t0 + 25_000);
  });

  it('does not remember a name whose registration failed', async () => {
    const clock = new FakeClock();
    const ctx = createContext({ clock });
    let fail = true;
    const handler = toRegistryHandler([registrationTime()], {
      register: (_ctx, nse) => (fail ? Promise.reject(new Error('down')) : Promise.resolve(nse)),
      find: () => ({}) as never,
      unregister: () => Promise.resolve(),
    });
    await expect(handler.register(ctx, newEndpoint({ name: 'a' }))).rejects.toThrow('down');
    await clock.advance(1000);
    fail = false;
    const ok = await handler.register(ctx, newEndpoint({ name: 'a' }));
    expect(fromTimestamp(ok.initial_registration_time)).toBe(clock.now());
  });
});

import { describe, expect, it } from 'vitest';
import { newEndpoint } from '../../api/builders.js';
import { createContext } from '../../core/context.js';
import { toRegistryHandler } from '../../core/registry-chain.js';
import { setNseName } from './setname.js';

describe('setNseName', () => {
  it('names an unnamed NSE uniquely and keeps a given name', async () => {
    const handler = toRegistryHandler([setNseName()]);
    const ctx = createContext();
    const a = await handler.register(ctx, newEndpoint({ network_service_names: ['s'] }));
    const b = await handler.register(ctx, newEndpoint({ network_service_names: ['s'] }));
    expect(a.name).toMatch(/^nse-[0-9a-f-]{36}$/);
    expect(b.name).not.toBe(a.name);
    expect((await handler.register(ctx, newEndpoint({ name: 'mine' }))).name).toBe('mine');
  });
});

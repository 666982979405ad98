import { describe, expect, it } from 'vitest';
import { firstValueFrom, toArray } from 'rxjs';
import type { NetworkService } from '../../api/types.js';
import { createContext } from '../../core/context.js';
import { createRegistryServer } from '../chains.js';

const ctx = createContext();
const ns = (name: string, payload: string): NetworkService => ({ name, payload, matches: [], path_ids: [] });

describe('setPayload in the registry server', () => {
  it('stores an empty payload as IP and keeps a given one', async () => {
    const registry = createRegistryServer();
    try {
      expect((await registry.ns.register(ctx, ns('a', ''))).payload).toBe('IP');
      expect((await registry.ns.register(ctx, ns('b', 'ETHERNET'))).payload).toBe('ETHERNET');
      const found = await firstValueFrom(
        registry.ns.find(ctx, { network_service: ns('', 'IP'), watch: false }).pipe(toArray()),
      );
      expect(found.map((r) => r.network_service?.name)).toEqual(['a']);
    } finally {
      registry.close();
    }
  });
});

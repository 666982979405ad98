/**
 * registration-time: stamps `initial_registration_time` on the first Register of a name and keeps
 * that stamp on every refresh, so consumers can tell a long-lived endpoint from a re-created one.
 */
import { toTimestamp } from '../../api/builders.js';
import type { Timestamp } from '../../api/types.js';
import type { NseElement } from '../../core/registry-chain.js';

/**
 * Sets the initial registration time. Place it after `expire` so that expiries, which unregister
 * through it, also forget the name. Usage: `toRegistryHandler([expire(), registrationTime(), memoryNseStore()])`.
 */
export function registrationTime(): NseElement {
  const first = new Map<string, Timestamp>();
  return {
    async register(ctx, nse, next) {
      const stamp = first.get(nse.name) ?? toTimestamp(ctx.clock.now());
      const result = await next.register(ctx, { ...nse, initial_registration_time: stamp });
      first.set(result.name, { ...stamp });
      return result;
    },
    find: (ctx, query, next) => next.find(ctx, query),
    async unregister(ctx, nse, next) {
      await next.unregister(ctx, nse);
      first.delete(nse.name);
    },
  };
}

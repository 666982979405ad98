/**
 * setname: an NSE registered without a name gets a generated unique one before anything else in the
 * chain keys state by name (expiry timers, registration times, local bypass).
 */
import { randomUUID } from 'node:crypto';
import { registryElement } from '../../core/registry-chain.js';
import type { NseElement } from '../../core/registry-chain.js';

/** A fresh NSE name: `nse-` and a random UUID. Usage: `nse.name ||= generateNseName()`. */
export function generateNseName(): string {
  return `nse-${randomUUID()}`;
}

/** Fills an empty NSE name on Register. Usage: `toRegistryHandler([setNseName(), expire(), memoryNseStore()])`. */
export function setNseName(): NseElement {
  return registryElement({
    register: (ctx, nse, next) => next.register(ctx, nse.name ? nse : { ...nse, name: generateNseName() }),
  });
}

/** mechanismPreferences: the client tells the next hop which mechanisms it can use, best first. */
import { clone } from '../../../api/builders.js';
import type { Mechanism } from '../../../api/types.js';
import { element, type NetworkServiceElement } from '../../../core/chain.js';

/**
 * Client element that offers `prefs` when the request carries no preferences of its own (a caller's explicit
 * list wins). Usage: `mechanismPreferences([kernelMechanism(), noopMechanism()])`.
 */
export function mechanismPreferences(prefs: readonly Mechanism[]): NetworkServiceElement {
  const offered = prefs.map((m) => clone(m));
  return element({
    request(ctx, req, next) {
      if (req.mechanism_preferences.length > 0) return next.request(ctx, req);
      return next.request(ctx, { ...req, mechanism_preferences: offered.map((m) => clone(m)) });
    },
  });
}

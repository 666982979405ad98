/**
 * nextHopMechanism: a connection carries one mechanism per hop pair. A passthrough hop receives the
 * mechanism it shares with the previous hop and must offer the next hop its own choice (e.g. a forwarder
 * turns KERNEL from the client into VXLAN toward a remote node). This client element swaps the
 * mechanism for the call to the next hop, remembers what the next hop chose (so a refresh sends it
 * back), and restores the previous hop's mechanism in the answer.
 */
import { clone } from '../../../api/builders.js';
import type { Mechanism, NetworkServiceRequest } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import { createContextKey, withValue, type Context } from '../../../core/context.js';
import { metadataSlot } from '../../../core/metadata.js';

/** Decides what to offer the next hop for this request. */
export type OfferFn = (ctx: Context, req: NetworkServiceRequest) => Mechanism[];

const kNextHopMechanism = createContextKey<{ value: Mechanism | null } | undefined>(
  'nexthop.mechanism',
  undefined,
);

/** The mechanism the next hop chose, once the call to it has returned (for elements that build wires). */
export function nextHopMechanismOf(ctx: Context): Mechanism | null {
  return ctx.value(kNextHopMechanism)?.value ?? null;
}

/**
 * A server element to place before the wire-building elements: gives them a place to read the next
 * hop's mechanism after `next` returns.
 */
export function exposeNextHopMechanism(): NetworkServiceElement {
  return {
    request: (ctx, req, next) => next.request(withValue(ctx, kNextHopMechanism, { value: null }), req),
    close: (ctx, conn, next) => next.close(withValue(ctx, kNextHopMechanism, { value: null }), conn),
  };
}

/** Usage: `connect({ pool, client: [metadata('client'), nextHopMechanism(offer), ...] })`. */
export function nextHopMechanism(offer: OfferFn): NetworkServiceElement {
  const chosen = metadataSlot<Mechanism>('nexthop.mechanism', 'client');
  return {
    async request(ctx, req, next) {
      const incoming = req.connection?.mechanism ?? null;
      const previous = chosen.get(ctx);
      const out: NetworkServiceRequest = {
        connection: req.connection
          ? { ...req.connection, mechanism: previous ? clone(previous) : null }
          : null,
        mechanism_preferences: offer(ctx, req),
      };
      if (out.connection?.state === 'RESELECT_REQUESTED') out.connection.mechanism = null;
      const conn = await next.request(ctx, out);
      if (conn.mechanism) chosen.set(ctx, clone(conn.mechanism));
      const slot = ctx.value(kNextHopMechanism);
      if (slot) slot.value = conn.mechanism;
      return { ...conn, mechanism: incoming };
    },
    async close(ctx, conn, next) {
      const previous = chosen.get(ctx) ?? null;
      const slot = ctx.value(kNextHopMechanism);
      if (slot) slot.value = previous;
      await next.close(ctx, { ...conn, mechanism: previous });
    },
  };
}

/**
 * clienturl: which URL the `connect` element dials for the next hop. Selection elements (roundRobin,
 * discoverForwarder) set it per attempt; a client with a fixed next hop sets it with `clientUrl(url)`.
 */
import type { NetworkServiceElement } from '../../../core/chain.js';
import { createContextKey, withValue, type Context, type ContextKey } from '../../../core/context.js';

/** The context key of the next-hop URL (`unix:///path.sock` or `tcp://host:port`). */
export const kClientUrl: ContextKey<string | undefined> = createContextKey<string | undefined>(
  'clientUrl',
  undefined,
);

/** `ctx` with the next-hop URL set. Usage: `next.request(withClientUrl(ctx, nse.url), req)`. */
export function withClientUrl(ctx: Context, url: string): Context {
  return withValue(ctx, kClientUrl, url);
}

/** The next-hop URL, if an earlier element chose one. Usage: `const url = clientUrlOf(ctx)`. */
export function clientUrlOf(ctx: Context): string | undefined {
  return ctx.value(kClientUrl);
}

/**
 * Sets the next-hop URL for every request and close that passes.
 * Usage: `toHandler([clientUrl('unix:///var/lib/networkservicemesh/nsm.io.sock'), connect({ pool })])`.
 */
export function clientUrl(url: string): NetworkServiceElement {
  return {
    request: (ctx, req, next) => next.request(withClientUrl(ctx, url), req),
    close: (ctx, conn, next) => next.close(withClientUrl(ctx, url), conn),
  };
}

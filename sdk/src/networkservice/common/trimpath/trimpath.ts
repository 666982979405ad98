/**
 * trimPath: the hop that ends a path (an endpoint) cuts the segments after its own off the answer, so
 * stale hops of an earlier path (e.g. after a reselect) never travel back to the client. A hop that
 * continues the request through a client (manager, forwarder, passthrough endpoint) must not trim:
 * its client marks that with `markClientFollows` or the `trimPathClient()` element.
 */
import type { NetworkServiceElement } from '../../../core/chain.js';
import { element } from '../../../core/chain.js';
import { createContextKey, withValue, type Context } from '../../../core/context.js';

/** Set by the nearest enclosing trimPath for one request; a client following it flips the flag. */
interface TrimFlag {
  clientFollows: boolean;
}

const kTrimFlag = createContextKey<TrimFlag | undefined>('trimpath.flag', undefined);

/**
 * Tells the nearest trimPath server element before this point that a client continues the path, so it
 * must not trim. A no-op without a trimPath before it (e.g. in a plain client).
 * Usage: inside `connect`: `markClientFollows(ctx); return client.request(ctx, req)`.
 */
export function markClientFollows(ctx: Context): void {
  const flag = ctx.value(kTrimFlag);
  if (flag) flag.clientFollows = true;
}

/**
 * The server element: after a successful request, drops the path segments after this hop's index unless
 * a client followed. Place it after `updatePath` so that the index is this hop's.
 * Usage: `chain(updatePath(name), begin(), ..., trimPath(), mechanisms(...))`.
 */
export function trimPath(): NetworkServiceElement {
  return element({
    async request(ctx, req, next) {
      // A fresh flag per request and per trimPath: an in-process next hop gets its own, so a client
      // further down marks only the hop it belongs to.
      const flag: TrimFlag = { clientFollows: false };
      const conn = await next.request(withValue(ctx, kTrimFlag, flag), req);
      const path = conn.path;
      if (flag.clientFollows || !path || path.path_segments.length <= path.index + 1) return conn;
      return { ...conn, path: { ...path, path_segments: path.path_segments.slice(0, path.index + 1) } };
    },
  });
}

/**
 * The client-side marker (upstream `trimpath.NewClient`): put it in the client chain of a hop that
 * continues requests, e.g. a passthrough endpoint's client.
 * Usage: `chain(updatePath(name), begin(), refresh(), trimPathClient(), hop)`.
 */
export function trimPathClient(): NetworkServiceElement {
  return element({
    request(ctx, req, next) {
      markClientFollows(ctx);
      return next.request(ctx, req);
    },
  });
}

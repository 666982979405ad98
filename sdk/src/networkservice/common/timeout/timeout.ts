/**
 * timeout: every server closes a connection whose previous hop stopped refreshing it. The previous
 * segment's token expiry is the deadline; each successful request (a refresh) moves it.
 */
import { fromTimestamp } from '../../../api/builders.js';
import type { Connection } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import type { Context } from '../../../core/context.js';
import { invalidArgument } from '../../../core/errors.js';
import { metadataSlot } from '../../../core/metadata.js';
import { eventFactoryOf, type EventFactory } from '../begin/begin.js';

/**
 * When this hop's view of `conn` expires: the previous segment's token expiry, else (first hop) the
 * connection's own segment expiry; `undefined` when neither carries one.
 * Usage: `const at = expiryOf(req.connection)`.
 */
export function expiryOf(conn: Connection | null): number | undefined {
  const path = conn?.path;
  if (!path) return undefined;
  const previous = path.index > 0 ? path.path_segments[path.index - 1] : undefined;
  return fromTimestamp(previous?.expires) ?? fromTimestamp(path.path_segments[path.index]?.expires);
}

/** The timer of one connection. */
interface Watch {
  cancel: () => void;
  /** A request for this connection is running: a timer firing now waits for its outcome. */
  busy: boolean;
  /** The timer fired while a request was running. */
  expired: boolean;
  /** Incremented each time the timer is (re)armed. */
  armed: number;
}

const noop = (): void => undefined;

const kWatch = metadataSlot<Watch>('timeout.watch', 'server');

/**
 * The server element. Needs `begin()` before it (it closes through the event factory so the close is
 * serialised with refreshes). Refuses with INVALID_ARGUMENT a request whose token already expired.
 * Its timer is the connection's metadata (`metadata('server')` before it), gone with the connection.
 * Usage: `chain(updatePath(name), begin(), metadata('server'), updateTokenServer(tokens), timeout(), ...)`.
 */
export function timeout(): NetworkServiceElement {
  const expire = (ctx: Context, id: string, factory: EventFactory, watch: Watch): void => {
    ctx.log.info(
      { connId: id },
      'connection timed out: the previous hop did not refresh it before its token expired',
    );
    const armed = watch.armed;
    // A refresh queued before this close re-arms the watch; then the close is moot.
    factory
      .close(() => watch.armed === armed)
      .catch((err: unknown) => {
        ctx.log.error({ connId: id, err: String(err) }, 'closing a timed out connection failed');
      });
  };

  const arm = (ctx: Context, id: string, conn: Connection, watch: Watch, factory: EventFactory): void => {
    watch.cancel();
    watch.cancel = noop;
    watch.armed++;
    const at = expiryOf(conn);
    if (at === undefined) return;
    watch.cancel = ctx.clock.after(at - ctx.clock.now(), () => {
      if (kWatch.get(ctx) !== watch) return; // closed, or a new connection of this id
      // A running request decides: success re-arms the timer, failure closes (see request).
      if (watch.busy) watch.expired = true;
      else expire(ctx, id, factory, watch);
    });
  };

  return {
    async request(ctx, req, next) {
      const factory = eventFactoryOf(ctx);
      const at = expiryOf(req.connection);
      if (at !== undefined && at <= ctx.clock.now()) {
        throw invalidArgument(
          `the token of the previous hop expired at ${new Date(at).toISOString()} ` +
            `(now ${new Date(ctx.clock.now()).toISOString()}); a request must carry an unexpired token`,
        );
      }
      const id = req.connection?.id ?? '';
      const existing = kWatch.get(ctx);
      const watch = existing ?? { cancel: noop, busy: false, expired: false, armed: 0 };
      kWatch.set(ctx, watch);
      watch.busy = true;
      let conn: Connection;
      try {
        conn = await next.request(ctx, req);
      } catch (err) {
        watch.busy = false;
        if (!existing) kWatch.delete(ctx);
        // Not awaited: the close queues behind this request in begin's serial order.
        else if (watch.expired) expire(ctx, id, factory, watch);
        throw err;
      }
      watch.busy = false;
      watch.expired = false;
      arm(ctx, id, conn, watch, factory);
      return conn;
    },
    async close(ctx, conn, next) {
      kWatch.get(ctx)?.cancel();
      kWatch.delete(ctx);
      await next.close(ctx, conn);
    },
  };
}

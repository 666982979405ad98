/**
 * begin: serialises every event of one connection (request, refresh, close, timeout, heal) and lets
 * elements further down start such events themselves through the `EventFactory` in the context.
 */
import { clone } from '../../../api/builders.js';
import type { Connection, NetworkServiceRequest } from '../../../api/types.js';
import type { NetworkServiceElement, NetworkServiceHandler } from '../../../core/chain.js';
import { createContextKey, detached, withValue, type Context } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { SerialExecutor } from '../../../core/serial.js';

/** Starts events for the current connection from inside the chain; they run serialised with the rest. */
export interface EventFactory {
  /** Re-runs the last request through the rest of the chain (a refresh or a heal). */
  request(change?: (req: NetworkServiceRequest) => void): Promise<Connection>;
  /**
   * Re-selects: closes the old connection down the chain (best effort, errors ignored), then requests
   * again with the mechanism and endpoint name cleared and state RESELECT_REQUESTED, so every hop
   * chooses afresh.
   */
  reselect(): Promise<Connection>;
  /**
   * Closes the connection through the rest of the chain and forgets it. `stillWanted`, when given, is
   * asked again in the connection's turn: a refresh queued before the close may have made it moot.
   */
  close(stillWanted?: () => boolean): Promise<void>;
}

/** Thrown by an EventFactory whose connection has been closed meanwhile. */
export class ConnectionClosedError extends NsmError {
  constructor(id: string) {
    super(Code.NOT_FOUND, `connection ${id} is closed`);
  }
}

const kEventFactory = createContextKey<EventFactory | undefined>('begin.eventFactory', undefined);

/** The event factory of the current connection (set by `begin`). */
export function eventFactoryOf(ctx: Context): EventFactory {
  const factory = ctx.value(kEventFactory);
  if (!factory) throw new Error('no event factory in context: add begin() before this element');
  return factory;
}

/** The event factory of the current connection, or undefined in a chain without `begin`. */
export function findEventFactory(ctx: Context): EventFactory | undefined {
  return ctx.value(kEventFactory);
}

interface Entry {
  req: NetworkServiceRequest;
  ctx: Context;
  next: NetworkServiceHandler;
  factory: EventFactory;
}

/** The request to replay later: the answered connection, UP again once a reselect went through. */
function remembered(req: NetworkServiceRequest, conn: Connection): NetworkServiceRequest {
  return {
    mechanism_preferences: clone(req.mechanism_preferences),
    connection: { ...clone(conn), state: 'UP' },
  };
}

/**
 * The addresses and routes the old endpoint handed out leave with it: the endpoint chosen next hands
 * out its own (and would otherwise add them to the stale ones). What the client asked for (excluded
 * prefixes, required flags, extra prefix requests) stays.
 */
function forgetAddresses(conn: Connection): void {
  const ip = conn.context?.ip_context;
  if (!ip) return;
  ip.src_ip_addrs = [];
  ip.dst_ip_addrs = [];
  ip.src_routes = [];
  ip.dst_routes = [];
  ip.ip_neighbors = [];
  ip.extra_prefixes = [];
  ip.policies = [];
}

/** Options: `eventBudgetMs` bounds events started from inside the chain (default 15 s). */
export function begin(options: { eventBudgetMs?: number } = {}): NetworkServiceElement {
  const executor = new SerialExecutor();
  const entries = new Map<string, Entry>();
  const budget = options.eventBudgetMs ?? 15_000;

  /** Runs `task` for connection `id` in its turn, on a detached context with the event budget. */
  const inTurn = <T>(
    id: string,
    self: EventFactory,
    task: (entry: Entry, ctx: Context) => Promise<T>,
  ): Promise<T> =>
    executor.run(id, async () => {
      const entry = entries.get(id);
      // A factory outlives its connection: after close and a new request with the same id, it is stale.
      if (!entry || entry.factory !== self) throw new ConnectionClosedError(id);
      const { ctx, cancel } = detached(entry.ctx, budget);
      try {
        return await task(entry, withValue(ctx, kEventFactory, entry.factory));
      } finally {
        cancel();
      }
    });

  const requestAgain = async (
    entry: Entry,
    ctx: Context,
    req: NetworkServiceRequest,
  ): Promise<Connection> => {
    const conn = await entry.next.request(ctx, req);
    entry.req = remembered(req, conn);
    return conn;
  };

  const makeFactory = (id: string): EventFactory => {
    const self: EventFactory = {
      request: (change) =>
        inTurn(id, self, (entry, ctx) => {
          const req = clone(entry.req);
          change?.(req);
          return requestAgain(entry, ctx, req);
        }),
      reselect: () =>
        inTurn(id, self, async (entry, ctx) => {
          const req = clone(entry.req);
          await entry.next.close(ctx, clone(req.connection!)).catch((err: unknown) => {
            ctx.log.debug({ connId: id, err: String(err) }, 'closing the old path before reselect failed');
          });
          const conn = req.connection!;
          conn.mechanism = null;
          conn.network_service_endpoint_name = '';
          conn.state = 'RESELECT_REQUESTED';
          forgetAddresses(conn);
          return requestAgain(entry, ctx, req);
        }),
      close: (stillWanted) =>
        inTurn(id, self, async (entry, ctx) => {
          if (stillWanted && !stillWanted()) return;
          entries.delete(id);
          await entry.next.close(ctx, clone(entry.req.connection!));
        }).catch((err: unknown) => {
          if (!(err instanceof ConnectionClosedError)) throw err;
        }),
    };
    return self;
  };

  return {
    request(ctx, req, next) {
      const id = req.connection?.id ?? '';
      return executor.run(id, async () => {
        let existing = entries.get(id);
        if (existing && req.connection?.state === 'RESELECT_REQUESTED') {
          // As upstream: the previous hop asks this one to choose afresh. The old path is closed
          // first, with the connection this hop answered last, so its endpoint sees Close before the
          // new Request and every element below starts over.
          ctx.log.info({ connId: id }, 'reselect requested: closing the old path first');
          entries.delete(id);
          const { ctx: closeCtx, cancel } = detached(existing.ctx, budget);
          try {
            await next.close(
              withValue(closeCtx, kEventFactory, existing.factory),
              clone(existing.req.connection!),
            );
          } catch (err) {
            ctx.log.debug({ connId: id, err: String(err) }, 'closing the old path before reselect failed');
          } finally {
            cancel();
          }
          existing = undefined;
        }
        const factory = existing?.factory ?? makeFactory(id);
        const conn = await next.request(withValue(ctx, kEventFactory, factory), req);
        entries.set(id, { req: remembered(req, conn), ctx, next, factory });
        return conn;
      });
    },
    close(ctx, conn, next) {
      return executor.run(conn.id, async () => {
        const entry = entries.get(conn.id);
        if (!entry) return;
        entries.delete(conn.id);
        // Always with the last connection this hop answered: the caller's copy may be an older one
        // (a client that healed onto another endpoint still holds the first answer).
        await next.close(withValue(ctx, kEventFactory, entry.factory), clone(entry.req.connection!));
      });
    },
  };
}

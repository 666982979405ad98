/**
 * begin: serialises every event of one connection (request, refresh, close, timeout, heal) and lets
 * elements further down start such events themselves through the `EventFactory` in the context.
 */
import { clone } from '../../../api/builders.js';
import type { Connection, NetworkServiceRequest } from '../../../api/types.js';
import type { NetworkServiceElement, NetworkServiceHandler } from '../../../core/chain.js';
import { createContextKey, detached, withValue, type Context } from '../../../core/context.js';
import { SerialExecutor } from '../../../core/serial.js';

/** Starts events for the current connection from inside the chain; they run serialised with the rest. */
export interface EventFactory {
  /** Re-runs the last request through the rest of the chain (a refresh or a heal). */
  request(change?: (req: NetworkServiceRequest) => void): Promise<Connection>;
  /** Closes the connection through the rest of the chain and forgets it. */
  close(): Promise<void>;
}

const kEventFactory = createContextKey<EventFactory | undefined>('begin.eventFactory', undefined);

/** The event factory of the current connection (set by `begin`). */
export function eventFactoryOf(ctx: Context): EventFactory {
  const factory = ctx.value(kEventFactory);
  if (!factory) throw new Error('no event factory in context: add begin() before this element');
  return factory;
}

interface Entry {
  req: NetworkServiceRequest;
  ctx: Context;
  next: NetworkServiceHandler;
  factory: EventFactory;
  generation: number;
}

/** Options: `eventBudgetMs` bounds events started from inside the chain (default 15 s). */
export function begin(options: { eventBudgetMs?: number } = {}): NetworkServiceElement {
  const executor = new SerialExecutor();
  const entries = new Map<string, Entry>();
  const budget = options.eventBudgetMs ?? 15_000;
  let generation = 0;

  const makeFactory = (id: string): EventFactory => ({
    request: (change) =>
      executor.run(id, async () => {
        const entry = entries.get(id);
        if (!entry) throw new Error(`connection ${id} is closed`);
        const req = clone(entry.req);
        change?.(req);
        const { ctx, cancel } = detached(entry.ctx, budget);
        try {
          const conn = await entry.next.request(withValue(ctx, kEventFactory, entry.factory), req);
          entry.req = { ...req, connection: clone(conn) };
          return conn;
        } finally {
          cancel();
        }
      }),
    close: () =>
      executor.run(id, async () => {
        const entry = entries.get(id);
        if (!entry) return;
        entries.delete(id);
        const { ctx, cancel } = detached(entry.ctx, budget);
        try {
          await entry.next.close(withValue(ctx, kEventFactory, entry.factory), clone(entry.req.connection!));
        } finally {
          cancel();
        }
      }),
  });

  return {
    request(ctx, req, next) {
      const id = req.connection?.id ?? '';
      return executor.run(id, async () => {
        const existing = entries.get(id);
        const factory = existing?.factory ?? makeFactory(id);
        const conn = await next.request(withValue(ctx, kEventFactory, factory), req);
        entries.set(id, { req: { ...clone(req), connection: clone(conn) }, ctx, next, factory, generation: ++generation });
        return conn;
      });
    },
    close(ctx, conn, next) {
      return executor.run(conn.id, async () => {
        const entry = entries.get(conn.id);
        if (!entry) return;
        entries.delete(conn.id);
        await next.close(withValue(ctx, kEventFactory, entry.factory), conn);
      });
    },
  };
}

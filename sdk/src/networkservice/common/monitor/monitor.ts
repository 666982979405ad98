/**
 * monitor: keeps the connections a server chain holds and streams their changes to MonitorConnections
 * subscribers (INITIAL_STATE_TRANSFER first, then UPDATE and DELETE). Elements further down publish state
 * changes of the current connection (e.g. DOWN when the next hop is lost) through `monitorEventsOf(ctx)`.
 */
import { Observable, Subject } from 'rxjs';
import { clone } from '../../../api/builders.js';
import type { Connection, ConnectionEvent, MonitorScopeSelector } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import { createContextKey, withValue, type Context } from '../../../core/context.js';
import { inScope } from './selector.js';

/** Publishes a change of one connection to the subscribers of this server. */
export interface MonitorEvents {
  update(conn: Connection): void;
  delete(conn: Connection): void;
}

const kMonitorEvents = createContextKey<MonitorEvents | undefined>('monitor.events', undefined);

/** The event sink of the enclosing server, if it has a monitor. */
export function monitorEventsOf(ctx: Context): MonitorEvents | undefined {
  return ctx.value(kMonitorEvents);
}

/** A server's connection table and its event stream. */
export class ConnectionMonitor implements MonitorEvents {
  private readonly connections = new Map<string, Connection>();
  private readonly events = new Subject<ConnectionEvent>();

  update(conn: Connection): void {
    const copy = clone(conn);
    this.connections.set(copy.id, copy);
    this.events.next({ type: 'UPDATE', connections: { [copy.id]: copy } });
  }

  delete(conn: Connection): void {
    const known = this.connections.get(conn.id) ?? clone(conn);
    this.connections.delete(conn.id);
    this.events.next({ type: 'DELETE', connections: { [known.id]: known } });
  }

  /** Current connections (copies). */
  list(): Connection[] {
    return [...this.connections.values()].map((c) => clone(c));
  }

  /** The MonitorConnections stream for `selector`. */
  stream(selector: MonitorScopeSelector): Observable<ConnectionEvent> {
    return new Observable<ConnectionEvent>((subscriber) => {
      const initial: Record<string, Connection> = {};
      for (const conn of this.connections.values())
        if (inScope(conn, selector)) initial[conn.id] = clone(conn);
      subscriber.next({ type: 'INITIAL_STATE_TRANSFER', connections: initial });
      const sub = this.events.subscribe((event) => {
        const scoped = Object.fromEntries(
          Object.entries(event.connections).filter(([, c]) => inScope(c, selector)),
        );
        if (Object.keys(scoped).length > 0) subscriber.next({ type: event.type, connections: scoped });
      });
      return () => sub.unsubscribe();
    });
  }

  /** Ends every subscriber's stream (server shutdown). */
  complete(): void {
    this.events.complete();
  }
}

/** Usage: `const m = new ConnectionMonitor(); chain(..., monitorServer(m), ...); server.serveMonitor((ctx, s) => m.stream(s))`. */
export function monitorServer(monitor: ConnectionMonitor): NetworkServiceElement {
  return {
    async request(ctx, req, next) {
      const conn = await next.request(withValue(ctx, kMonitorEvents, monitor), req);
      monitor.update({ ...conn, state: 'UP' });
      return conn;
    },
    async close(ctx, conn, next) {
      try {
        await next.close(withValue(ctx, kMonitorEvents, monitor), conn);
      } finally {
        monitor.delete(conn);
      }
    },
  };
}

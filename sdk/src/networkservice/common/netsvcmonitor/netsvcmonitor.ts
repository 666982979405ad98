/**
 * netsvcMonitor: keeps connections true to their NetworkService. When the service is edited so that
 * the endpoint a connection went to no longer matches its labels, or the service is deleted, the
 * connection is closed (through begin, so downstream is torn down and upstream hears DELETE); the
 * client's heal then re-selects under the new rules. One registry watch per service, shared by its
 * connections.
 */
import type { Subscription } from 'rxjs';
import type { Connection, NetworkService } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import { createContext, withoutCancel, withTimeout, type Context } from '../../../core/context.js';
import type { NsHandler, NseHandler } from '../../../core/registry-chain.js';
import { eventFactoryOf, type EventFactory } from '../begin/begin.js';
import { matchEndpoints } from '../discover/match.js';
import { findEndpoints } from '../discover/registry-lookup.js';

interface Watched {
  endpoint: string;
  labels: Record<string, string>;
  factory: EventFactory;
  ctx: Context;
}

interface ServiceWatch {
  conns: Map<string, Watched>;
  stop: () => void;
}

/** Usage: `chain(..., discoverCandidates({ nse, ns }), roundRobin(), netsvcMonitor({ nse, ns }), ...)`. */
export function netsvcMonitor(options: { ns: NsHandler; nse: NseHandler }): NetworkServiceElement {
  const services = new Map<string, ServiceWatch>();

  const recheck = async (service: string, ns: NetworkService | undefined): Promise<void> => {
    for (const [id, w] of services.get(service)?.conns ?? []) {
      let reason: string | undefined;
      if (!ns) reason = `network service "${service}" was deleted`;
      else {
        const lookup = withTimeout(createContext({ log: w.ctx.log, clock: w.ctx.clock }), 5000);
        const nses = await findEndpoints(lookup.ctx, options.nse, { name: w.endpoint })
          .catch(() => undefined)
          .finally(() => lookup.cancel());
        // A lookup failure is not evidence of a mismatch: keep the connection.
        if (nses && !matchEndpoints(ns, nses, w.labels).candidates.some((c) => c.nse.name === w.endpoint)) {
          reason = `endpoint "${w.endpoint}" no longer matches network service "${service}"`;
        }
      }
      if (!reason) continue;
      services.get(service)?.conns.delete(id);
      w.ctx.log.info({ connId: id, reason }, 'closing the connection: its network service changed');
      w.factory
        .close()
        .catch((err: unknown) => w.ctx.log.warn({ connId: id, err: String(err) }, 'closing failed'));
    }
  };

  const watch = (ctx: Context, service: string): ServiceWatch => {
    const { ctx: watchCtx, cancel } = withoutCancel(createContext({ log: ctx.log, clock: ctx.clock }));
    const query = { network_service: { name: service, payload: '', matches: [], path_ids: [] }, watch: true };
    const sub: Subscription = options.ns.find(watchCtx, query).subscribe({
      next: (r) => {
        if (r.network_service?.name !== service) return;
        void recheck(service, r.deleted ? undefined : r.network_service);
      },
      // A broken watch is healed by the next request of any of the service's connections.
      error: () => services.delete(service),
      complete: () => services.delete(service),
    });
    return {
      conns: new Map(),
      stop: () => {
        sub.unsubscribe();
        cancel();
      },
    };
  };

  const forget = (conn: Connection): void => {
    const entry = services.get(conn.network_service);
    entry?.conns.delete(conn.id);
    if (entry?.conns.size === 0) {
      entry.stop();
      services.delete(conn.network_service);
    }
  };

  return {
    async request(ctx, req, next) {
      const factory = eventFactoryOf(ctx);
      const conn = await next.request(ctx, req);
      let entry = services.get(conn.network_service);
      if (!entry) services.set(conn.network_service, (entry = watch(ctx, conn.network_service)));
      entry.conns.set(conn.id, {
        endpoint: conn.network_service_endpoint_name,
        labels: { ...conn.labels },
        factory,
        ctx,
      });
      return conn;
    },
    async close(ctx, conn, next) {
      forget(conn);
      await next.close(ctx, conn);
    },
  };
}

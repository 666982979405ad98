/**
 * monitorRelay: a client element for passthrough hops (manager, forwarder). It watches the connection on
 * the next hop and, when that one is lost, reports this hop's connection DOWN to its own monitor
 * subscribers, so the originating client learns of it and heals.
 */
import type { Connection } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import type { ClientPool } from '../../../grpc/client.js';
import { clientUrlOf } from '../clienturl/clienturl.js';
import { monitorEventsOf } from './monitor.js';
import { watchNextHop, nextSegmentId, type NextHopWatch } from './watch-next-hop.js';

/** Usage: `connect({ pool, client: [monitorRelay(pool), ...] })`; needs `monitorServer` earlier in the chain. */
export function monitorRelay(pool: ClientPool): NetworkServiceElement {
  const watches = new Map<string, NextHopWatch>();
  const stop = (id: string): void => {
    watches.get(id)?.stop();
    watches.delete(id);
  };
  return {
    async request(ctx, req, next) {
      const conn = await next.request(ctx, req);
      const url = clientUrlOf(ctx);
      const current = watches.get(conn.id);
      if (url && (!current || current.url !== url || current.nextId !== nextSegmentId(conn))) {
        stop(conn.id);
        const events = monitorEventsOf(ctx);
        const snapshot: Connection = conn;
        const watch = watchNextHop(ctx, pool, url, conn, (reason) => {
          watches.delete(snapshot.id);
          ctx.log.info(
            { connId: snapshot.id, nextHop: url, reason },
            'next hop lost the connection; reporting DOWN',
          );
          events?.update({ ...snapshot, state: 'DOWN' });
        });
        if (watch) watches.set(conn.id, watch);
      }
      return conn;
    },
    async close(ctx, conn, next) {
      stop(conn.id);
      await next.close(ctx, conn);
    },
  };
}

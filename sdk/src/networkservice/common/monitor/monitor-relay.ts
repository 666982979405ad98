/**
 * monitorRelay: a client element for passthrough hops (manager, forwarder). It watches the connection on
 * the next hop and, when that one is lost, reports this hop's connection DOWN to its own monitor
 * subscribers, so the originating client learns of it and heals.
 */
import type { Connection } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import type { Context } from '../../../core/context.js';
import { metadataSlot } from '../../../core/metadata.js';
import type { MeshClients } from '../../../grpc/client.js';
import { clientUrlOf } from '../clienturl/clienturl.js';
import { monitorEventsOf } from './monitor.js';
import { watchNextHop, nextSegmentId, type NextHopWatch } from './watch-next-hop.js';

/** The watch of a connection on the next hop: its (client-side) metadata, stopped and gone with it. */
const kWatch = metadataSlot<NextHopWatch>('monitorRelay.watch', 'client');

/**
 * Usage: `connect({ pool, client: [metadata('client'), monitorRelay(pool), ...] })`; needs
 * `monitorServer` earlier in the chain.
 */
export function monitorRelay(pool: MeshClients): NetworkServiceElement {
  const stop = (ctx: Context): void => {
    kWatch.get(ctx)?.stop();
    kWatch.delete(ctx);
  };
  return {
    async request(ctx, req, next) {
      const conn = await next.request(ctx, req);
      const url = clientUrlOf(ctx);
      const current = kWatch.get(ctx);
      if (url && (!current || current.url !== url || current.nextId !== nextSegmentId(conn))) {
        stop(ctx);
        const events = monitorEventsOf(ctx);
        const snapshot: Connection = conn;
        const watch = watchNextHop(ctx, pool, url, conn, (reason) => {
          if (kWatch.get(ctx) === watch) kWatch.delete(ctx);
          ctx.log.info(
            { connId: snapshot.id, nextHop: url, reason },
            'next hop lost the connection; reporting DOWN',
          );
          events?.update({ ...snapshot, state: 'DOWN' });
        });
        if (watch) kWatch.set(ctx, watch);
      }
      return conn;
    },
    async close(ctx, conn, next) {
      stop(ctx);
      await next.close(ctx, conn);
    },
  };
}

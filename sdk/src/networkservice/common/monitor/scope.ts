/**
 * Monitor scoping (upstream NSM's monitor `service_connection` policy): a caller identified by mTLS sees
 * only the connections it requested from this hop (those whose previous segment carries its token).
 * Naming connections of others in the selector is PERMISSION_DENIED `monitor_connections`. Operators
 * (the `nsm` command, say) see everything; calls inside the process and plaintext servers are not scoped.
 */
import { Observable } from 'rxjs';
import type { Connection, ConnectionEvent, MonitorScopeSelector } from '../../../api/types.js';
import type { Context } from '../../../core/context.js';
import { servedCallOf } from '../../../grpc/call-metadata.js';
import { tokenSubject } from '../../../security/jwt.js';
import { permissionDenied } from '../../../security/policies.js';

/** A MonitorConnections source. */
export type MonitorConnections = (
  ctx: Context,
  selector: MonitorScopeSelector,
) => Observable<ConnectionEvent>;

/** Options for `scopedMonitor`. */
export interface MonitorScopeOptions {
  /** Identities that may see every connection (default: none). */
  operator?: (id: string) => boolean;
}

/** The identity that requested `conn` from this hop: the `sub` of its previous segment's token. */
export function requesterOf(conn: Connection): string | undefined {
  const index = conn.path?.index ?? 0;
  return index > 0 ? tokenSubject(conn.path?.path_segments[index - 1]?.token) : undefined;
}

/** Usage: `server.serveMonitor(scopedMonitor((ctx, s) => monitor.stream(s), { operator }))`. */
export function scopedMonitor(
  source: MonitorConnections,
  options: MonitorScopeOptions = {},
): MonitorConnections {
  return (ctx, selector) => {
    const peer = servedCallOf(ctx)?.peer;
    if (!peer || options.operator?.(peer.id)) return source(ctx, selector);
    const mine = (conn: Connection): boolean => requesterOf(conn) === peer.id;
    return new Observable<ConnectionEvent>((subscriber) => {
      let first = true;
      const sub = source(ctx, selector).subscribe({
        next: (event) => {
          const all = Object.entries(event.connections);
          const visible = Object.fromEntries(all.filter(([, conn]) => mine(conn)));
          if (first) {
            first = false;
            if (selector.path_segments.length > 0 && all.length > 0 && Object.keys(visible).length === 0) {
              subscriber.error(
                permissionDenied(
                  'monitor_connections',
                  `${peer.id} may monitor only the connections it requested; the selected ones are another's`,
                ),
              );
              return;
            }
          }
          if (event.type === 'INITIAL_STATE_TRANSFER' || Object.keys(visible).length > 0)
            subscriber.next({ ...event, connections: visible });
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => sub.unsubscribe();
    });
  };
}

/**
 * passthrough: the client half of a service-chain element (a firewall between a client and a VPN
 * gateway). The path continues through it, but toward the next service it presents its own labels (so
 * `source_selector: { app: firewall }` matches), its own mechanism and its own endpoint choice; the
 * answer going back carries the previous hop's view again.
 */
import { clone } from '../../../api/builders.js';
import type { Connection, Mechanism } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import { metadataSlot } from '../../../core/metadata.js';
import { markClientFollows } from '../trimpath/trimpath.js';

/** What the passthrough presents to the next service. */
export interface PassthroughOptions {
  /** Labels of this element (replace the client's labels toward the next service). */
  labels: Record<string, string>;
  /** The service to continue to (default: the same network service). */
  networkService?: string;
  /** Mechanism preferences toward the next hop, fixed or per connection (e.g. to name its interface). */
  preferences: Mechanism[] | ((conn: Connection) => Mechanism[]);
}

interface Outgoing {
  endpoint: string;
  mechanism: Mechanism | null;
}

/** Usage: `createClientChain({ ..., extra: [passthrough({ labels: { app: 'firewall' }, preferences })] })`. */
export function passthrough(options: PassthroughOptions): NetworkServiceElement {
  const outgoing = metadataSlot<Outgoing>('passthrough.outgoing', 'client');
  return {
    async request(ctx, req, next) {
      markClientFollows(ctx);
      const incoming = req.connection!;
      const previous = outgoing.get(ctx);
      const out = {
        connection: {
          ...incoming,
          labels: { ...incoming.labels, ...options.labels },
          network_service: options.networkService ?? incoming.network_service,
          network_service_endpoint_name:
            incoming.state === 'RESELECT_REQUESTED' ? '' : (previous?.endpoint ?? ''),
          mechanism:
            incoming.state === 'RESELECT_REQUESTED'
              ? null
              : previous?.mechanism
                ? clone(previous.mechanism)
                : null,
        },
        mechanism_preferences: (typeof options.preferences === 'function'
          ? options.preferences(incoming)
          : options.preferences
        ).map((m) => clone(m)),
      };
      const conn = await next.request(ctx, out);
      outgoing.set(ctx, {
        endpoint: conn.network_service_endpoint_name,
        mechanism: conn.mechanism ? clone(conn.mechanism) : null,
      });
      return {
        ...conn,
        labels: incoming.labels,
        network_service: incoming.network_service,
        network_service_endpoint_name: incoming.network_service_endpoint_name,
        mechanism: incoming.mechanism,
      };
    },
    async close(ctx, conn, next) {
      markClientFollows(ctx);
      const previous = outgoing.get(ctx);
      await next.close(ctx, {
        ...conn,
        labels: { ...conn.labels, ...options.labels },
        network_service: options.networkService ?? conn.network_service,
        network_service_endpoint_name: previous?.endpoint ?? '',
        mechanism: previous?.mechanism ?? null,
      });
    },
  };
}

/** How a hop that continues a request (manager, forwarder) calls its next hop. */
import { named, type NetworkServiceElement } from '../core/chain.js';
import { metadata } from '../core/metadata.js';
import type { MeshClients } from '../grpc/client.js';
import { connect } from '../networkservice/common/connect/connect.js';
import { monitorRelay } from '../networkservice/common/monitor/monitor-relay.js';
import { updateTokenClient } from '../networkservice/common/updatetoken/updatetoken.js';
import type { TokenGenerator } from '../tools/token/token.js';

/**
 * `connect` with the client half every continuing hop needs: per-connection client metadata, the
 * hop's own client elements (`own`, e.g. the next-hop mechanism offer), the monitor relay and the
 * token. Usage: `toHandler([...serverPrologue(...), discoverForwarder(...), nextHop(pool, tokens)])`.
 */
export function nextHop(
  pool: MeshClients,
  tokens: TokenGenerator,
  own: NetworkServiceElement[] = [],
): NetworkServiceElement {
  return named(
    'connect',
    connect({
      pool,
      client: [
        named('metadata', metadata('client')),
        ...own,
        named('monitorRelay', monitorRelay(pool)),
        named('updateToken', updateTokenClient(tokens)),
      ],
    }),
  );
}

/** How a hop that continues a request (manager, forwarder) calls its next hop. */
import { named, type NetworkServiceElement } from '../core/chain.js';
import { metadata } from '../core/metadata.js';
import type { MeshClients } from '../grpc/client.js';
import { connect } from '../networkservice/common/connect/connect.js';
import { monitorRelay } from '../networkservice/common/monitor/monitor-relay.js';
import type { ChainInstruments } from '../core/instruments.js';

/**
 * `connect` with the client half every continuing hop needs: per-connection client metadata, the
 * hop's own client elements (`own`, e.g. the next-hop mechanism offer) and the monitor relay. The
 * pool's transport signs each call's token for the next hop (`ClientPool({ tokens })`).
 * With `instruments` (metrics, tracing), the call to the next hop is measured as the `dial` stage.
 * Usage: `toHandler([...serverPrologue(...), discoverForwarder(...), nextHop(pool)])`.
 */
export function nextHop(
  pool: MeshClients,
  own: NetworkServiceElement[] = [],
  instruments?: ChainInstruments,
): NetworkServiceElement {
  return named(
    'connect',
    connect({
      pool,
      client: [
        named('metadata', metadata('client')),
        ...own,
        named('monitorRelay', monitorRelay(pool)),
        // Last before the call: the `dial` stage is the call to the next hop and its answer.
        ...(instruments ? [instruments.around('dial')] : []),
      ],
    }),
  );
}

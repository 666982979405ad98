/**
 * The endpoint's side of a KERNEL mechanism: it names its own network namespace and its interface name
 * in the mechanism, so that the forwarder can build the wire into this pod.
 */
import type { NetworkServiceElement } from '../core/chain.js';
import { element } from '../core/chain.js';
import { stableInterfaceName, validateInterfaceName } from '../networkservice/common/mechanisms/kernel.js';

/** Usage: `createEndpointChain({ ..., mechanisms: { KERNEL: kernelEndpoint() } })`. */
export function kernelEndpoint(options: { inodeURL?: string } = {}): NetworkServiceElement {
  const inodeURL = options.inodeURL ?? `file:///proc/${process.pid}/ns/net`;
  return element({
    request(ctx, req, next) {
      const conn = req.connection!;
      const mechanism = conn.mechanism!;
      const params = { ...mechanism.parameters };
      if (params['name']) validateInterfaceName(params['name']);
      // Derived from the connection id: the same name whenever this connection is requested again.
      else params['name'] = stableInterfaceName(conn.network_service, conn.id);
      params['inodeURL'] = inodeURL;
      conn.mechanism = { ...mechanism, parameters: params };
      return next.request(ctx, req);
    },
  });
}

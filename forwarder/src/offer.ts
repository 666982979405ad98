/**
 * What a forwarder offers the next hop: toward an endpoint on another node (reached through that node's
 * manager over TCP) a VXLAN tunnel from this node's tunnel IP; toward a local endpoint (unix socket)
 * the local mechanism the client asked for, or every local type this forwarder builds when the request
 * arrived over a tunnel.
 */
import { newMechanism } from '../../sdk/src/api/builders.js';
import { Code, NsmError } from '../../sdk/src/core/errors.js';
import { clientUrlOf } from '../../sdk/src/networkservice/common/clienturl/clienturl.js';
import type { OfferFn } from '../../sdk/src/networkservice/common/nexthop/nexthop-mechanism.js';

/** Options for `forwarderOffer`. */
export interface OfferOptions {
  tunnelIp: string;
  vxlanPort: number;
  /** Local mechanism types this forwarder can build, in order of preference. */
  localTypes: string[];
}

/** Usage: `createForwarderChain({ ..., offer: forwarderOffer({ tunnelIp, vxlanPort: 4789, localTypes: ['KERNEL'] }) })`. */
export function forwarderOffer(options: OfferOptions): OfferFn {
  return (ctx, req) => {
    const url = clientUrlOf(ctx) ?? '';
    const incoming = req.connection?.mechanism;
    if (!url.startsWith('unix://')) {
      if (!options.tunnelIp) {
        throw new NsmError(
          Code.FAILED_PRECONDITION,
          `endpoint "${req.connection?.network_service_endpoint_name ?? ''}" is on another node (${url}) but this forwarder has no tunnel IP: set NSM_TUNNEL_IP`,
        );
      }
      return [
        newMechanism('VXLAN', 'REMOTE', { src_ip: options.tunnelIp, src_port: String(options.vxlanPort) }),
      ];
    }
    if (incoming?.cls === 'LOCAL') return [newMechanism(incoming.type, 'LOCAL')];
    return options.localTypes.map((type) => newMechanism(type, 'LOCAL'));
  };
}

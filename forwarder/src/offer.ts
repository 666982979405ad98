/**
 * What a forwarder offers the next hop: toward an endpoint on another node (reached through that node's
 * manager over TCP) a VXLAN tunnel from this node's tunnel IP (VLAN on the physical network for an
 * SR-IOV client); toward a local endpoint (unix socket)
 * the local mechanism the client asked for (and the kinds it can be joined to), or every local type
 * this forwarder builds when the request arrived over a tunnel.
 */
import { newMechanism } from '@nsm-ts/sdk/api';
import { AVOID_VNIS_PARAMETER, isExternalVxlanUrl } from '@nsm-ts/sdk';
import { Code, NsmError, createContextKey, withValue, type Context } from '@nsm-ts/sdk/core';
import { clientUrlOf, SRIOV_TOKEN_LABEL } from '@nsm-ts/sdk/elements';
import { SRIOV_POOL_PARAMETER } from './mechanisms/sriov-remote.js';
import { TOKEN_ID, VLAN_ID } from './mechanisms/sriov-vfs.js';
import type { OfferFn } from '@nsm-ts/sdk/elements';

/** Options for `forwarderOffer`. */
export interface OfferOptions {
  tunnelIp: string;
  vxlanPort: number;
  /** Local mechanism types this forwarder can build, in order of preference. */
  localTypes: string[];
}

/**
 * The VXLAN parameter carrying the client's local mechanism type across the tunnel, so the far
 * forwarder offers the endpoint the same kind (a NOOP client gets no interface in the endpoint's pod).
 * Our own key: other forwarders ignore parameters they do not know.
 */
export const LOCAL_MECHANISM_PARAMETER = 'nsm_local_mechanism';

/**
 * Besides its own kind, what a local client's mechanism can be joined to on this node, in order: a
 * memif client reaches a kernel endpoint, and a kernel client a memif endpoint, through the
 * forwarder's packet loop. Neither is offered NOOP (a NOOP endpoint would leave it without its
 * interface). A VFIO client's VF reaches the network through its NIC: its endpoint answers NOOP,
 * as upstream's Vfio2Noop.
 */
const JOINABLE: Record<string, string[]> = { MEMIF: ['KERNEL'], KERNEL: ['MEMIF'], VFIO: ['NOOP'] };

/**
 * An SR-IOV client's VF sends on the physical network behind its NIC, not through a tunnel: the
 * next hop is offered VLAN (see mechanisms/sriov-remote.ts) with the client's pool, from its
 * `sriovToken` label, and the VLAN it asked for.
 */
function sriovOffer(labels: Record<string, string>, vlan: string | undefined) {
  const pool = labels[SRIOV_TOKEN_LABEL];
  if (!pool)
    throw new NsmError(
      Code.INVALID_ARGUMENT,
      "the client's KERNEL mechanism has tokenID, but the request has no sriovToken label naming its pool: expected the SDK's sriovTokenClient to label it",
    );
  return newMechanism('VLAN', 'REMOTE', {
    [SRIOV_POOL_PARAMETER]: pool,
    [LOCAL_MECHANISM_PARAMETER]: 'KERNEL',
    ...(vlan ? { [VLAN_ID]: vlan } : {}),
  });
}

const kAvoidVnis = createContextKey<readonly number[]>('forwarder.avoidVnis', []);

/** `ctx` for a request whose VXLAN offer asks the next hop to avoid `vnis` (found taken on this node). */
export function withAvoidedVnis(ctx: Context, vnis: readonly number[]): Context {
  return withValue(ctx, kAvoidVnis, [...vnis]);
}

/** Usage: `createForwarderChain({ ..., offer: forwarderOffer({ tunnelIp, vxlanPort: 4789, localTypes: ['KERNEL'] }) })`. */
export function forwarderOffer(options: OfferOptions): OfferFn {
  return (ctx, req) => {
    const url = clientUrlOf(ctx) ?? '';
    const incoming = req.connection?.mechanism;
    if (isExternalVxlanUrl(url))
      throw new NsmError(
        Code.FAILED_PRECONDITION,
        `endpoint "${req.connection?.network_service_endpoint_name ?? ''}" is registered with its declaration ${url}: an external VNF is served by a gateway endpoint (nse with NSM_EXTERNAL_URL) that registers it with its own URL; see docs/brownfield.md`,
      );
    if (!url.startsWith('unix://')) {
      if (incoming?.cls === 'LOCAL' && incoming.type === 'KERNEL' && incoming.parameters[TOKEN_ID])
        return [sriovOffer(req.connection?.labels ?? {}, incoming.parameters[VLAN_ID])];
      if (!options.tunnelIp) {
        throw new NsmError(
          Code.FAILED_PRECONDITION,
          `endpoint "${req.connection?.network_service_endpoint_name ?? ''}" is on another node (${url}) but this forwarder has no tunnel IP: set NSM_TUNNEL_IP`,
        );
      }
      const params: Record<string, string> = {
        src_ip: options.tunnelIp,
        src_port: String(options.vxlanPort),
      };
      if (incoming?.cls === 'LOCAL') params[LOCAL_MECHANISM_PARAMETER] = incoming.type;
      const avoid = ctx.value(kAvoidVnis);
      if (avoid.length > 0) params[AVOID_VNIS_PARAMETER] = avoid.join(',');
      return [newMechanism('VXLAN', 'REMOTE', params)];
    }
    if (incoming?.cls === 'LOCAL')
      return [
        incoming.type,
        ...(JOINABLE[incoming.type] ?? []).filter((t) => options.localTypes.includes(t)),
      ].map((type) => newMechanism(type, 'LOCAL'));
    // SR-IOV from another node: the endpoint gets a VF, a KERNEL interface (sriov-remote.ts).
    if (incoming?.type === 'VLAN') return [newMechanism('KERNEL', 'LOCAL')];
    // Over a tunnel: the client's kind first when we build it, then the others.
    const wanted = incoming?.parameters[LOCAL_MECHANISM_PARAMETER];
    const types =
      wanted && options.localTypes.includes(wanted)
        ? [wanted, ...options.localTypes.filter((t) => t !== wanted)]
        : options.localTypes;
    return types.map((type) => newMechanism(type, 'LOCAL'));
  };
}

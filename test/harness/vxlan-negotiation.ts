/**
 * For the control-plane harness, whose forwarders build nothing (NOOP): the server side of VXLAN
 * negotiation between forwarders, so remote connections carry real parameters. The kernel forwarder
 * negotiates (and builds) in forwarder/src/mechanisms/vxlan.ts.
 *
 * The server side of VXLAN negotiation between forwarders: the client-side forwarder offered `src_ip`
 * and `src_port`; this side completes `dst_ip`, `dst_port`, the VNI (parity and uniqueness rules, kept
 * across refreshes and replays) and the MTU left after the tunnel overhead. Wire building, if any, is
 * done by the element that follows.
 */
import type { NetworkServiceElement } from '../../sdk/src/core/chain.js';
import { Code, NsmError } from '../../sdk/src/core/errors.js';
import {
  setVxlanParameters,
  vxlanParameters,
  VXLAN_OVERHEAD_IPV4,
  VXLAN_OVERHEAD_IPV6,
} from '../../sdk/src/networkservice/common/mechanisms/vxlan.js';
import {
  createVniAllocator,
  type VniAllocator,
} from '../../sdk/src/networkservice/common/mechanisms/vxlan-vni.js';

/** Options for `vxlanNegotiation`. */
export interface VxlanNegotiationOptions {
  /** This node's tunnel IP (NSM_TUNNEL_IP). */
  tunnelIp: string;
  /** UDP port this node's tunnels listen on (default 4789). */
  port?: number;
  /** MTU of the underlay (default 1500). */
  underlayMtu?: number;
  vnis?: VniAllocator;
}

/** Usage: `mechanisms({ NOOP: element({}), VXLAN: vxlanNegotiation({ tunnelIp }) })`. */
export function vxlanNegotiation(options: VxlanNegotiationOptions): NetworkServiceElement {
  const vnis = options.vnis ?? createVniAllocator();
  const port = options.port ?? 4789;
  return {
    async request(ctx, req, next) {
      const conn = req.connection!;
      const mechanism = conn.mechanism!;
      if (!options.tunnelIp) {
        throw new NsmError(
          Code.FAILED_PRECONDITION,
          'VXLAN requested but this forwarder has no tunnel IP: set NSM_TUNNEL_IP',
        );
      }
      const offered = vxlanParameters(mechanism);
      if (!offered.srcIp)
        throw new NsmError(
          Code.INVALID_ARGUMENT,
          'VXLAN mechanism without "src_ip": expected the peer\'s tunnel IP',
        );
      const firstTime = vnis.vniOf(conn.id) === undefined;
      const vni = vnis.allocate(conn.id, offered.srcIp, options.tunnelIp, offered.vni);
      const overhead = options.tunnelIp.includes(':') ? VXLAN_OVERHEAD_IPV6 : VXLAN_OVERHEAD_IPV4;
      const mtu = (options.underlayMtu ?? 1500) - overhead;
      setVxlanParameters(mechanism, {
        dstIp: options.tunnelIp,
        dstPort: port,
        vni,
        mtu,
        srcPort: offered.srcPort ?? port,
      });
      try {
        return await next.request(ctx, req);
      } catch (err) {
        if (firstTime) vnis.release(conn.id);
        throw err;
      }
    },
    async close(ctx, conn, next) {
      try {
        await next.close(ctx, conn);
      } finally {
        vnis.release(conn.id);
      }
    },
  };
}

/**
 * kernelMechanism: the forwarder's element for a KERNEL mechanism from the client. It validates
 * the client's side before anything else happens, lets the request go on to the next hop, and then
 * joins the client's pod to what the next hop chose: a veth straight into the endpoint's pod
 * (KERNEL, same node), a VXLAN device toward the remote forwarder (VXLAN), or a veth to the node and
 * the native packet loop from its node end to the memif the endpoint serves (MEMIF, same node).
 */
import { clone } from '@nsm-ts/sdk/api';
import { type Connection, type Mechanism, MechanismType } from '@nsm-ts/sdk/api';
import type { NetworkServiceElement } from '@nsm-ts/sdk/core';
import { Code, NsmError, invalidArgument } from '@nsm-ts/sdk/core';
import { kernelInterfaceName } from '@nsm-ts/sdk/elements';
import { nextHopMechanismOf } from '@nsm-ts/sdk/elements';
import { formatAlias } from './alias.js';
import { VniInUseError } from './build-errors.js';
import type { KernelDeps } from './deps.js';
import { contextMtu } from './mtu.js';
import { claimName } from './names.js';
import {
  endpointMemif,
  keepRunning,
  nodeEnd,
  packetLoop,
  stopRunning,
  type RunPlan,
} from './memif-running.js';
import { type PodEnd, podEnd, target, vethPlan, vxlanClientPlan } from './plans.js';
import { rollback } from './rollback.js';
import { closeSriov, requestSriov, tokenOf } from './sriov.js';
import { tapRequest, withTapDevice } from './tap.js';
import type { SriovPool } from '../sriov/index.js';
import type { WirePlan } from './wire.js';
import { dropWire, ensureWire } from './wires.js';
import { checkExternal, externalTarget, externalVnfOf } from './external-check.js';
import { isWatched, stopExternalWatch, watchExternal } from './external-watch.js';
import { tapLinkNames } from './tap.js';
import { withAvoidedVnis } from '../offer.js';

/** How often a VXLAN wire is renegotiated when the remote forwarder's VNI is taken on this node. */
const VNI_ATTEMPTS = 3;

/**
 * The KERNEL mechanism element for the forwarder chain.
 * Usage: `mechanisms({ KERNEL: kernelMechanism(deps, { sriov: pool }), VXLAN: vxlanMechanism(deps), NOOP: noopMechanism() })`.
 */
export function kernelMechanism(
  deps: KernelDeps,
  options: { sriov?: SriovPool } = {},
): NetworkServiceElement {
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      if (!conn?.mechanism) throw invalidArgument('KERNEL request without connection.mechanism');
      const tap = tapRequest(conn.mechanism); // a tap for a VM in the pod (tap.ts); not with SR-IOV
      // A token asks for an SR-IOV VF as the client's interface (sriov.ts).
      if (tokenOf(conn.mechanism)) return requestSriov(deps, options.sriov, ctx, req, next);
      const mech = clone(conn.mechanism);
      const client = podEnd(mech, 'nsc', kernelInterfaceName(mech, conn.network_service));
      contextMtu(conn);
      const alias = formatAlias(deps.owner, conn.id);
      await claimName(deps, client, alias, 'evict', ctx.log);
      const out = { ...req, connection: { ...conn, mechanism: mech } };
      // VNIs found taken on this node: an external VNF's gateway is asked for another one.
      const avoid: number[] = [];
      for (let attempt = 1; ; attempt++) {
        const result = await next.request(avoid.length ? withAvoidedVnis(ctx, avoid) : ctx, out);
        try {
          const nextHop = nextHopMechanismOf(ctx);
          const planned = await planFor(deps, client, result, nextHop);
          const { plan, run } = withTapDevice(tap, planned, result);
          if (plan?.kind === 'veth' && plan.ends[1] && !run) {
            await claimName(deps, plan.ends[1], alias, 'keep', ctx.log);
          }
          const wire = plan ? await ensureWire(deps, result.id, plan, ctx) : undefined;
          if (!plan) await dropWire(deps, result.id, ctx.log);
          keepRunning(ctx, run, wire);
          const answer = withWireMtu({ ...result, mechanism: mech }, plan);
          if (nextHop && wire && externalVnfOf(nextHop)) {
            // A tap's wire end is a port of its bridge: the bridge probes (the VM holds the address).
            const bridge = tap ? tapLinkNames(result.id).bridge : undefined;
            const target = externalTarget(nextHop, result, wire, bridge);
            if (!isWatched(ctx, wire)) await checkExternal(deps, ctx, target);
            watchExternal(deps, ctx, target, answer, wire);
          } else stopExternalWatch(ctx);
          return answer;
        } catch (err) {
          stopRunning(ctx);
          stopExternalWatch(ctx);
          await rollback(ctx, deps, result, next);
          if (err instanceof VniInUseError && attempt < VNI_ATTEMPTS) {
            avoid.push(err.vni);
            ctx.log.info(
              { connId: conn.id, vni: err.vni },
              'VNI taken on this node: renegotiating the tunnel',
            );
            continue;
          }
          throw err;
        }
      }
    },
    async close(ctx, conn, next) {
      stopRunning(ctx);
      stopExternalWatch(ctx);
      await closeSriov(deps, options.sriov, ctx, conn.id);
      await dropWire(deps, conn.id, ctx.log);
      await next.close(ctx, conn);
    },
  };
}

/**
 * The answer tells the previous hops the MTU of the wire when it is below the context's (a VXLAN
 * tunnel's), as upstream's VXLAN MTU element does: a passthrough that bridges this wire to the one
 * toward its own client then gets that MTU on the other side too, instead of 1500 in front of 1450.
 */
function withWireMtu(conn: Connection, plan: WirePlan | undefined): Connection {
  const mtu = plan?.kind === 'vxlan' ? plan.mtu : undefined;
  if (!mtu || !conn.context) return conn;
  const current = conn.context.MTU;
  if (current > 0 && current <= mtu) return conn;
  return { ...conn, context: { ...conn.context, MTU: mtu } };
}

async function planFor(
  deps: KernelDeps,
  client: PodEnd,
  conn: Connection,
  nextHop: Mechanism | null,
): Promise<{ plan?: WirePlan; run?: RunPlan }> {
  if (!nextHop)
    throw new NsmError(Code.INTERNAL, `connection ${conn.id}: the next hop answered without a mechanism`);
  switch (nextHop.type) {
    case MechanismType.KERNEL:
      return { plan: vethPlan(client, nextHop, conn) };
    case MechanismType.VXLAN:
      return { plan: await vxlanClientPlan(deps, client, nextHop, conn) };
    case MechanismType.MEMIF: {
      // The endpoint serves the memif; the forwarder's loop is its client, on the node's end of a
      // veth whose other end is the client's interface.
      const memif = endpointMemif(nextHop);
      const node = nodeEnd(deps, conn.id, 'nse');
      const mtu = contextMtu(conn);
      const plan: WirePlan = { kind: 'veth', ends: [target(client, conn), node], ...(mtu ? { mtu } : {}) };
      return { plan, run: packetLoop(deps, { role: 'client', ...memif }, node.name) };
    }
    case MechanismType.NOOP:
      return {}; // nothing to join: an endpoint without a data plane here
    default:
      throw new NsmError(
        Code.UNIMPLEMENTED,
        `the next hop chose mechanism ${nextHop.type}; a KERNEL client can be joined to KERNEL or MEMIF (same node), VXLAN (another node) or NOOP`,
      );
  }
}

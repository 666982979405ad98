/**
 * vxlanMechanism: the forwarder's element for a VXLAN mechanism from a remote forwarder (this
 * forwarder is on the endpoint's node). Before the request goes on it completes the mechanism
 * (dst_ip, dst_port, a VNI kept across refreshes, MTU); once the endpoint has answered with its
 * KERNEL mechanism it builds the VXLAN device into the endpoint's pod. An endpoint that answered
 * MEMIF gets the VXLAN device in the node instead, and the native packet loop between it and the
 * memif the endpoint serves.
 */
import { clone } from '@nsm-ts/sdk/api';
import { type Connection, type Mechanism, MechanismType } from '@nsm-ts/sdk/api';
import type { NetworkServiceElement } from '@nsm-ts/sdk/core';
import { Code, NsmError, invalidArgument } from '@nsm-ts/sdk/core';
import type { Context } from '@nsm-ts/sdk/core';
import { setVxlanParameters, vxlanParameters } from '@nsm-ts/sdk/elements';
import { nextHopMechanismOf } from '@nsm-ts/sdk/elements';
import { parseIp } from '../kernel/netlink/inet.js';
import { VniInUseError } from './build-errors.js';
import type { KernelDeps } from './deps.js';
import { vxlanOverhead } from './mtu.js';
import { bare, endpointMemif, keepRunning, nodeEnd, packetLoop, stopRunning } from './memif-running.js';
import { endpointEnd, vxlanPlan, type PodEnd } from './plans.js';
import { rollback } from './rollback.js';
import { formatAlias } from './alias.js';
import { claimName } from './names.js';
import type { Wire } from './wire.js';
import { dropWire, ensureWire } from './wires.js';

const VNI_ATTEMPTS = 8;

/** A VNI for `connId` from src, unused by any other VXLAN device this forwarder made on the node. */
function pickVni(deps: KernelDeps, connId: string, src: string, requested?: number): number {
  for (let i = 0; i < VNI_ATTEMPTS; i++) {
    const vni = deps.vnis.allocate(connId, src, deps.tunnelIp, i === 0 ? requested : undefined);
    const owner = deps.nodeVnis.get(vni);
    if (owner === undefined || owner === connId) return vni;
    deps.vnis.release(connId);
  }
  throw new NsmError(Code.RESOURCE_EXHAUSTED, `no VXLAN VNI free on this node for a tunnel from ${src}`);
}

/** Completes the incoming VXLAN mechanism; throws before anything is allocated when it cannot. */
async function complete(
  deps: KernelDeps,
  conn: Connection,
): Promise<{ mech: Mechanism; src: string; port: number }> {
  if (!deps.tunnelIp)
    throw new NsmError(
      Code.FAILED_PRECONDITION,
      'a VXLAN tunnel reached this forwarder, but it has no tunnel IP: set NSM_TUNNEL_IP',
    );
  const mech = clone(conn.mechanism as Mechanism);
  const p = vxlanParameters(mech);
  if (!p.srcIp)
    throw invalidArgument("VXLAN mechanism without src_ip: expected the remote forwarder's tunnel IP");
  const family = parseIp(p.srcIp).bytes.length === 4 ? 4 : 6;
  if (family !== (parseIp(deps.tunnelIp).bytes.length === 4 ? 4 : 6)) {
    throw invalidArgument(
      `VXLAN src_ip ${p.srcIp} is not in the address family of this node's tunnel IP ${deps.tunnelIp}`,
    );
  }
  const mtu = (await deps.underlayMtu()) - vxlanOverhead(family);
  // A Linux VXLAN device sends to and listens on one port, so both sides must use the same one.
  const port = p.srcPort || deps.vxlanPort;
  // After a restart the request may come without its VNI; the stale tunnel still knows it.
  const stale = deps.adoption.peek(conn.id).find((l) => l.vxlan)?.vxlan?.vni;
  const vni = pickVni(deps, conn.id, p.srcIp, p.vni ?? stale);
  setVxlanParameters(mech, { dstIp: deps.tunnelIp, dstPort: port, vni, mtu });
  return { mech, src: p.srcIp, port };
}

/**
 * The VXLAN mechanism element (receiving side) for the forwarder chain.
 * Usage: `mechanisms({ KERNEL: kernelMechanism(deps), VXLAN: vxlanMechanism(deps), NOOP: noopMechanism() })`.
 */
export function vxlanMechanism(deps: KernelDeps): NetworkServiceElement {
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      if (!conn?.mechanism) throw invalidArgument('VXLAN request without connection.mechanism');
      const held = deps.vnis.vniOf(conn.id) !== undefined;
      const { mech, src, port } = await complete(deps, conn);
      let result: Connection;
      try {
        result = await next.request(ctx, { ...req, connection: { ...conn, mechanism: mech } });
      } catch (err) {
        if (!held) deps.vnis.release(conn.id);
        throw err;
      }
      const nse = nextHopMechanismOf(ctx);
      try {
        if (nse?.type === MechanismType.KERNEL) {
          const pod = endpointEnd(nse, result);
          await claimName(deps, pod, formatAlias(deps.owner, result.id), 'keep', ctx.log);
          await buildWithFreeVni(deps, ctx, result, { end: pod, bare: false }, mech, src, port);
          stopRunning(ctx);
        } else if (nse?.type === MechanismType.MEMIF) {
          const memif = endpointMemif(nse);
          const node = nodeEnd(deps, result.id, 'nse');
          const wire = await buildWithFreeVni(deps, ctx, result, { end: node, bare: true }, mech, src, port);
          keepRunning(ctx, packetLoop(deps, { role: 'client', ...memif }, node.name), wire);
        } else if (nse?.type === MechanismType.NOOP) {
          stopRunning(ctx);
          await dropWire(deps, result.id, ctx.log);
        } else {
          throw new NsmError(
            Code.UNIMPLEMENTED,
            `the endpoint chose mechanism ${nse?.type ?? 'none'}; a VXLAN tunnel can end in KERNEL, MEMIF or NOOP`,
          );
        }
        return { ...result, mechanism: mech };
      } catch (err) {
        stopRunning(ctx);
        await rollback(ctx, deps, result, next);
        deps.vnis.release(conn.id);
        throw err;
      }
    },
    async close(ctx, conn, next) {
      stopRunning(ctx);
      await dropWire(deps, conn.id, ctx.log);
      deps.vnis.release(conn.id);
      await next.close(ctx, conn);
    },
  };
}

/**
 * Builds the tunnel's end at `end` (the endpoint's pod, or the node for a packet loop); a VNI the
 * kernel already has is replaced (the answer is not sent yet).
 */
async function buildWithFreeVni(
  deps: KernelDeps,
  ctx: Context,
  conn: Connection,
  at: { end: PodEnd; bare: boolean },
  mech: Mechanism,
  src: string,
  port: number,
): Promise<Wire> {
  const log = ctx.log;
  for (let attempt = 1; ; attempt++) {
    const vni = Number(mech.parameters['vni']);
    const plan = await vxlanPlan(deps, at.end, conn, { remote: src, vni, port });
    try {
      return await ensureWire(deps, conn.id, at.bare ? bare(plan) : plan, ctx);
    } catch (err) {
      if (!(err instanceof VniInUseError) || attempt >= VNI_ATTEMPTS) throw err;
      log.info({ connId: conn.id, vni }, 'VNI taken on this node: picking another');
      deps.vnis.release(conn.id);
      setVxlanParameters(mech, { vni: pickVni(deps, conn.id, src) });
    }
  }
}

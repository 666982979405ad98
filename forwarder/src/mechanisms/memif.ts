/**
 * memifMechanism: the forwarder's element for a MEMIF mechanism from the client. The forwarder is the
 * memif server in the client's pod: an abstract socket `@/tmp/memif/<connId>/memif.socket` opened
 * inside the pod's namespace (parameter `socketfile`, as upstream), so the pod needs no shared path.
 * What serves it depends on what the next hop chose:
 * - MEMIF (an endpoint on this node that serves memif): a relay of the control messages to the
 *   endpoint's socket, so both pods share one region and no forwarder thread is on the data path;
 * - KERNEL (an endpoint on this node with a kernel interface): a veth with one end in the endpoint's
 *   pod and the other in the node, and the native packet loop between the memif and that end;
 * - VXLAN (an endpoint on another node): a VXLAN device in the node and the packet loop to it;
 * - NOOP: nothing.
 * What runs for a connection lives in its metadata; close and a changed plan stop it.
 */
import { clone, type Connection, type Mechanism } from '@nsm-ts/sdk/api';
import { Code, NsmError, invalidArgument, type NetworkServiceElement } from '@nsm-ts/sdk/core';
import { nextHopMechanismOf } from '@nsm-ts/sdk/elements';
import { createMemifProxy } from '../memif/index.js';
import type { KernelDeps } from './deps.js';
import {
  bare,
  endpointMemif,
  keepRunning,
  memifNamespaceOf,
  memifSocketOf,
  nodeEnd,
  packetLoop,
  SOCKETFILE,
  stopRunning,
  type RunPlan,
} from './memif-running.js';
import { contextMtu } from './mtu.js';
import { podConfig } from './pod-config.js';
import { endpointEnd, vxlanClientPlan } from './plans.js';
import { rollback } from './rollback.js';
import type { WirePlan } from './wire.js';
import { dropWire, ensureWire } from './wires.js';

export { memifSocketOf, SOCKETFILE } from './memif-running.js';

/** What to run for `conn` given the next hop's mechanism (undefined: nothing, a NOOP endpoint). */
async function plan(
  deps: KernelDeps,
  conn: Connection,
  clientNs: string,
  nextHop: Mechanism,
): Promise<(RunPlan & { wire?: WirePlan }) | undefined> {
  const socket = memifSocketOf(conn.id);
  const server = { role: 'server', socket, netns: clientNs } as const;
  switch (nextHop.type) {
    case 'MEMIF': {
      const target = endpointMemif(nextHop);
      return {
        key: `proxy|${clientNs}|${target.netns}|${target.socket}`,
        start: () => {
          const proxy = createMemifProxy({ listen: { socket, netns: clientNs }, connect: target });
          return () => proxy.close();
        },
      };
    }
    case 'KERNEL': {
      const node = nodeEnd(deps, conn.id, 'nsc');
      const endpoint = endpointEnd(nextHop, conn);
      const mtu = contextMtu(conn);
      const wire: WirePlan = {
        kind: 'veth',
        ends: [node, { ...endpoint, side: 'dst', config: podConfig(conn.context, 'dst') }],
        ...(mtu ? { mtu } : {}),
      };
      return { ...packetLoop(deps, server, node.name), wire };
    }
    case 'VXLAN': {
      const node = nodeEnd(deps, conn.id, 'nsc');
      const wire = bare(await vxlanClientPlan(deps, node, nextHop, conn));
      return { ...packetLoop(deps, server, node.name), wire };
    }
    case 'NOOP':
      return undefined;
    default:
      throw new NsmError(
        Code.UNIMPLEMENTED,
        `the next hop chose mechanism ${nextHop.type}; a MEMIF client can be joined to MEMIF or KERNEL (same node), VXLAN (another node) or NOOP`,
      );
  }
}

/**
 * The MEMIF mechanism element for the forwarder chain.
 * Usage: `mechanisms({ KERNEL: kernelMechanism(deps), MEMIF: memifMechanism(deps), ... })`.
 */
export function memifMechanism(deps: KernelDeps): NetworkServiceElement {
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      if (!conn?.mechanism) throw invalidArgument('MEMIF request without connection.mechanism');
      const clientNs = memifNamespaceOf(conn.mechanism, 'client');
      const mech = clone(conn.mechanism);
      mech.parameters[SOCKETFILE] = memifSocketOf(conn.id);
      const result = await next.request(ctx, { ...req, connection: { ...conn, mechanism: mech } });
      try {
        const nextHop = nextHopMechanismOf(ctx);
        if (!nextHop)
          throw new NsmError(
            Code.INTERNAL,
            `connection ${conn.id}: the next hop answered without a mechanism`,
          );
        const p = await plan(deps, result, clientNs, nextHop);
        const wire = p?.wire ? await ensureWire(deps, result.id, p.wire, ctx) : undefined;
        if (!p?.wire) await dropWire(deps, result.id, ctx.log);
        keepRunning(ctx, p, wire);
        return { ...result, mechanism: mech };
      } catch (err) {
        stopRunning(ctx);
        await rollback(ctx, deps, result, next);
        throw err;
      }
    },
    async close(ctx, conn, next) {
      stopRunning(ctx);
      await dropWire(deps, conn.id, ctx.log);
      await next.close(ctx, conn);
    },
  };
}

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
import { Code, NsmError, invalidArgument, metadataSlot, type NetworkServiceElement } from '@nsm-ts/sdk/core';
import { kernelParameters, nextHopMechanismOf } from '@nsm-ts/sdk/elements';
import { resolveNamespace } from '../kernel/netns.js';
import { createMemifBridge, createMemifProxy, type MemifBridge, type MemifProxy } from '../memif/index.js';
import type { KernelDeps } from './deps.js';
import { contextMtu } from './mtu.js';
import { nsKeyOf } from './netlink-cache.js';
import { EMPTY_CONFIG, podConfig } from './pod-config.js';
import { endpointEnd, vxlanClientPlan, type PodEnd } from './plans.js';
import { rollback } from './rollback.js';
import type { EndTarget, Wire, WirePlan } from './wire.js';
import { dropWire, ensureWire } from './wires.js';

/** The upstream parameter naming the memif socket (abstract sockets: the name, `@` first). */
export const SOCKETFILE = 'socketfile';

/** What serves one connection's memif. */
interface Running {
  /** Identity of what it serves: a change means stop and start again. */
  key: string;
  /** The wire its bridge is bound to: a rebuilt one (same name, new interface) needs a new bridge. */
  wire: Wire | undefined;
  stop(): void;
}

const kRunning = metadataSlot<Running>('memif.running', 'server');

/** The abstract socket of a connection in its client's namespace. */
export function memifSocketOf(connId: string): string {
  return `@/tmp/memif/${connId}/memif.socket`;
}

/** The network namespace file of a memif mechanism (its inodeURL), or INVALID_ARGUMENT naming `who`. */
function namespaceOf(mech: Mechanism, who: string): string {
  const url = kernelParameters(mech).inodeURL;
  if (!url)
    throw invalidArgument(
      `the ${who}'s MEMIF mechanism has no inodeURL: expected its pod's network namespace (file:///proc/<pid>/ns/net or inode://<dev>/<ino>)`,
    );
  try {
    return resolveNamespace(url);
  } catch (err) {
    const e = NsmError.from(err, Code.INVALID_ARGUMENT);
    throw new NsmError(e.code, `the ${who}'s inodeURL ${url}: ${e.message}`, { cause: err });
  }
}

/** The node's end of a wire to an endpoint: a link in the node namespace, with nothing configured on it. */
function nodeEnd(deps: KernelDeps, connId: string): PodEnd & EndTarget {
  const nsPath = deps.nodeNs ?? '/proc/self/ns/net';
  const name = `mk-${connId.replace(/[^a-z0-9]/gi, '').slice(0, 10)}`;
  return { role: 'nsc', nsPath, nsKey: nsKeyOf(nsPath), name, side: 'src', config: EMPTY_CONFIG };
}

/** What to run for `conn` given the next hop's mechanism (undefined: nothing, a NOOP endpoint). */
async function plan(
  deps: KernelDeps,
  conn: Connection,
  clientNs: string,
  nextHop: Mechanism,
): Promise<{ key: string; wire?: WirePlan; start: () => Running['stop'] } | undefined> {
  const socket = memifSocketOf(conn.id);
  const bridgeTo = (ifname: string) => () => {
    const bridge: MemifBridge = createMemifBridge({
      memif: { role: 'server', socket, netns: clientNs },
      kernel: { ifname, ...(deps.nodeNs ? { netns: deps.nodeNs } : {}) },
    });
    return () => bridge.close();
  };
  switch (nextHop.type) {
    case 'MEMIF': {
      const target = nextHop.parameters[SOCKETFILE];
      if (!target)
        throw invalidArgument(
          `the endpoint's MEMIF mechanism has no ${SOCKETFILE}: expected its memif socket`,
        );
      // A path would be looked up in the forwarder's file system, not the endpoint pod's.
      if (!target.startsWith('@'))
        throw invalidArgument(
          `the endpoint's MEMIF ${SOCKETFILE} "${target}" is a path: expected an abstract socket (@name) in its network namespace`,
        );
      const endpointNs = namespaceOf(nextHop, 'endpoint');
      return {
        key: `proxy|${clientNs}|${endpointNs}|${target}`,
        start: () => {
          const proxy: MemifProxy = createMemifProxy({
            listen: { socket, netns: clientNs },
            connect: { socket: target, netns: endpointNs },
          });
          return () => proxy.close();
        },
      };
    }
    case 'KERNEL': {
      const node = nodeEnd(deps, conn.id);
      const endpoint = endpointEnd(nextHop, conn);
      const mtu = contextMtu(conn);
      const wire: WirePlan = {
        kind: 'veth',
        ends: [node, { ...endpoint, side: 'dst', config: podConfig(conn.context, 'dst') }],
        ...(mtu ? { mtu } : {}),
      };
      return { key: `bridge|${clientNs}|${node.name}`, wire, start: bridgeTo(node.name) };
    }
    case 'VXLAN': {
      const node = nodeEnd(deps, conn.id);
      const tunnel = await vxlanClientPlan(deps, node, nextHop, conn);
      // The node's end carries no address: the client's is the memif pod's, and the node would
      // answer for it itself.
      const wire: WirePlan = { ...tunnel, ends: tunnel.ends.map((e) => ({ ...e, config: EMPTY_CONFIG })) };
      return { key: `bridge|${clientNs}|${node.name}|vxlan`, wire, start: bridgeTo(node.name) };
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
  const stop = (ctx: Parameters<typeof kRunning.get>[0]): void => {
    kRunning.get(ctx)?.stop();
    kRunning.delete(ctx);
  };
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      if (!conn?.mechanism) throw invalidArgument('MEMIF request without connection.mechanism');
      const clientNs = namespaceOf(conn.mechanism, 'client');
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
        const running = kRunning.get(ctx);
        if (running?.key !== p?.key || running?.wire !== wire) {
          stop(ctx);
          if (p) kRunning.set(ctx, { key: p.key, wire, stop: p.start() });
        }
        return { ...result, mechanism: mech };
      } catch (err) {
        stop(ctx);
        await rollback(ctx, deps, result, next);
        throw err;
      }
    },
    async close(ctx, conn, next) {
      stop(ctx);
      await dropWire(deps, conn.id, ctx.log);
      await next.close(ctx, conn);
    },
  };
}

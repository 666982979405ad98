/**
 * What the MEMIF, KERNEL and VXLAN elements share when a memif is on one side of a connection: the
 * socket names, the namespaces named by the mechanisms, the node's end of a wire that a packet loop
 * serves, and what runs for a connection (a packet loop or a control-message relay), kept in the
 * connection's metadata so that a refresh leaves it running and close or a changed plan stops it.
 */
import type { Mechanism } from '@nsm-ts/sdk/api';
import { Code, NsmError, invalidArgument, metadataSlot, type Context } from '@nsm-ts/sdk/core';
import { kernelParameters } from '@nsm-ts/sdk/elements';
import { resolveNamespace } from '../kernel/netns.js';
import { createMemifBridge, type MemifBridgeMemifOptions } from '../memif/index.js';
import type { KernelDeps } from './deps.js';
import { nsKeyOf } from './netlink-cache.js';
import { EMPTY_CONFIG } from './pod-config.js';
import type { PodEnd } from './plans.js';
import type { EndTarget, Wire, WirePlan } from './wire.js';

/** The upstream parameter naming the memif socket (abstract sockets: the name, `@` first). */
export const SOCKETFILE = 'socketfile';

/** What serves one connection's memif. */
interface Running {
  /** Identity of what it serves: a change means stop and start again. */
  key: string;
  /** The wire its packet loop is bound to: a rebuilt one (same name, new interface) needs a new loop. */
  wire: Wire | undefined;
  stop(): void;
}

const kRunning = metadataSlot<Running>('memif.running', 'server');

/** What to run for a connection: `start` returns its stop. */
export interface RunPlan {
  key: string;
  start: () => () => void;
}

/** The abstract socket of a connection in its client's namespace. */
export function memifSocketOf(connId: string): string {
  return `@/tmp/memif/${connId}/memif.socket`;
}

/** The network namespace file of a memif mechanism (its inodeURL), or INVALID_ARGUMENT naming `who`. */
export function memifNamespaceOf(mech: Mechanism, who: string): string {
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

/** The socket an endpoint's MEMIF mechanism serves, in the endpoint's namespace; checked. */
export function endpointMemif(nse: Mechanism): { socket: string; netns: string } {
  const socket = nse.parameters[SOCKETFILE];
  if (!socket)
    throw invalidArgument(`the endpoint's MEMIF mechanism has no ${SOCKETFILE}: expected its memif socket`);
  // A path would be looked up in the forwarder's file system, not the endpoint pod's.
  if (!socket.startsWith('@'))
    throw invalidArgument(
      `the endpoint's MEMIF ${SOCKETFILE} "${socket}" is a path: expected an abstract socket (@name) in its network namespace`,
    );
  return { socket, netns: memifNamespaceOf(nse, 'endpoint') };
}

/** The node's end of a wire that a packet loop serves: a link in the node namespace, nothing configured on it. */
export function nodeEnd(deps: KernelDeps, connId: string, role: PodEnd['role']): PodEnd & EndTarget {
  const nsPath = deps.nodeNs ?? '/proc/self/ns/net';
  const name = `mk-${connId.replace(/[^a-z0-9]/gi, '').slice(0, 10)}`;
  const side = role === 'nsc' ? 'src' : 'dst';
  return { role, nsPath, nsKey: nsKeyOf(nsPath), name, side, config: EMPTY_CONFIG };
}

/**
 * `plan` with nothing configured on its ends: the node's end of a wire served by a packet loop
 * carries no address, since the address is the memif pod's and the node would answer for it itself.
 */
export function bare(plan: WirePlan): WirePlan {
  return { ...plan, ends: plan.ends.map((e) => ({ ...e, config: EMPTY_CONFIG })) };
}

/** A packet loop between `memif` and the node's interface `ifname`. */
export function packetLoop(deps: KernelDeps, memif: MemifBridgeMemifOptions, ifname: string): RunPlan {
  const where = deps.nodeNs ? { netns: deps.nodeNs } : {};
  return {
    key: `loop|${memif.role}|${memif.netns ?? ''}|${memif.socket}|${ifname}`,
    start: () => {
      const bridge = createMemifBridge({ memif, kernel: { ifname, ...where } });
      return () => bridge.close();
    },
  };
}

/** Stops what runs for the connection of `ctx`, if anything. */
export function stopRunning(ctx: Context): void {
  kRunning.get(ctx)?.stop();
  kRunning.delete(ctx);
}

/** Makes `plan` (bound to `wire`) what runs for the connection of `ctx`: started unless it already runs. */
export function keepRunning(ctx: Context, plan: RunPlan | undefined, wire: Wire | undefined): void {
  const running = kRunning.get(ctx);
  if (running?.key === plan?.key && running?.wire === wire) return;
  stopRunning(ctx);
  if (plan) kRunning.set(ctx, { key: plan.key, wire, stop: plan.start() });
}

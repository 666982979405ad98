/**
 * A wire: the interfaces built for one connection (a veth pair with an end in each pod, or one
 * VXLAN device in a pod), what each end was configured with, and the operations every mechanism
 * shares on them: is it still there, bring its configuration up to date, remove it.
 */
import { Code, NsmError } from '@nsm-ts/sdk/core';
import { KernelError } from '../kernel/netlink/errors.js';
import { setLinkRequest } from '../kernel/netlink/link-requests.js';
import type { LinkInfo } from '../kernel/netlink/link-info.js';
import type { Netlink } from '../kernel/netlink/netlink.js';
import { type NetlinkCache, NamespaceChangedError, type NsKey } from './netlink-cache.js';
import { type PodConfig, type Side, addressRequests, removalRequests, routeRequests } from './pod-config.js';

/** Where one end of a wire goes and what it carries. */
export interface EndTarget {
  /** Whose pod: the client's (`nsc`) or the endpoint's (`nse`); for messages. */
  readonly role: 'nsc' | 'nse';
  readonly nsPath: string;
  readonly nsKey: NsKey;
  /** The interface name in the pod. */
  readonly name: string;
  readonly side: Side;
  readonly config: PodConfig;
  /** A link of a tap plan beside the wire's own ends (tap.ts): the tap, or the bridge joining it. */
  readonly device?: 'tap' | 'bridge';
}

/** How the tap of a tap plan is made (tap.ts). */
export interface TapPlan {
  readonly multiQueue: boolean;
  readonly owner?: number;
  readonly group?: number;
}

/** The underlay of a VXLAN wire. */
export interface TunnelSpec {
  readonly local: string;
  readonly remote: string;
  readonly vni: number;
  readonly port: number;
  /**
   * Don't-fragment on the outer packets: toward an external VTEP, so that a path that cannot carry
   * the tunnel's MTU loses big packets where the forwarder's check sees it, instead of fragmenting
   * them (which hardware VTEPs and firewalls commonly drop).
   */
  readonly df?: boolean;
}

/** What should exist for a connection. */
export interface WirePlan {
  readonly kind: 'veth' | 'vxlan';
  /** veth: [client end, endpoint end]; vxlan: [the pod's end]; a tap plan adds [tap, bridge]. */
  readonly ends: readonly EndTarget[];
  readonly tunnel?: TunnelSpec;
  /** Interface MTU; undefined leaves the kernel default. */
  readonly mtu?: number;
  /** The client's interface is a tap bridged to the wire's client end (tap.ts). */
  readonly tap?: TapPlan;
}

/** One built interface. */
export interface WireEnd {
  target: EndTarget;
  readonly index: number;
  applied: PodConfig;
  mtu: number | undefined;
}

/** What was built for a connection. */
export interface Wire {
  readonly connId: string;
  readonly alias: string;
  /** Identity of the plan it was built from: a different key means a different wire. */
  readonly key: string;
  plan: WirePlan;
  readonly ends: WireEnd[];
  /**
   * Closes the connection this wire belongs to through the whole chain (begin's event factory), so
   * the next hops release their side too; undefined in a chain without begin.
   */
  closeConnection: (() => Promise<void>) | undefined;
}

/** Wires by connection id: every wire of the forwarder, whichever mechanism element built it. */
export type WireTable = Map<string, Wire>;

/** The identity of a plan: namespaces, names, tunnel and tap, not the IP configuration or MTU. */
export function planKey(plan: WirePlan): string {
  const ends = plan.ends.map((e) => `${e.role}@${e.nsKey}/${e.name}${e.device ? `=${e.device}` : ''}`);
  const t = plan.tunnel;
  const tap = plan.tap ? `|tap:${plan.tap.multiQueue}:${plan.tap.owner ?? ''}:${plan.tap.group ?? ''}` : '';
  return `${plan.kind}|${ends.join(',')}${t ? `|${t.local}>${t.remote}#${t.vni}:${t.port}${t.df ? ':df' : ''}` : ''}${tap}`;
}

/** Runs `fn` with a socket in the namespace, or returns undefined when the namespace is gone. */
export async function inNamespace<T>(
  netlinks: NetlinkCache,
  nsPath: string,
  nsKey: NsKey,
  fn: (nl: Netlink) => Promise<T>,
): Promise<T | undefined> {
  let lease;
  try {
    lease = netlinks.acquire(nsPath, nsKey);
  } catch (err) {
    if (err instanceof NamespaceChangedError || (err instanceof NsmError && err.code === Code.NOT_FOUND))
      return undefined;
    throw err;
  }
  try {
    return await fn(lease.nl);
  } finally {
    lease.release();
  }
}

/** The link at `index` if it still carries `alias` (ours), else undefined. */
export async function findOwned(nl: Netlink, index: number, alias: string): Promise<LinkInfo | undefined> {
  const link = await nl.findLink(index);
  return link?.alias === alias ? link : undefined;
}

/** Deletes the link at `index` in the namespace if it is still ours; true when it deleted one. */
export async function deleteOwned(
  netlinks: NetlinkCache,
  at: { nsPath: string; nsKey: NsKey; index: number },
  alias: string,
): Promise<boolean> {
  const done = await inNamespace(netlinks, at.nsPath, at.nsKey, async (nl) => {
    if (!(await findOwned(nl, at.index, alias))) return false;
    try {
      await nl.deleteLink(at.index);
      return true;
    } catch (err) {
      // The other end of a veth pair went first and took this one with it.
      if (err instanceof KernelError && err.errnoName === 'ENODEV') return false;
      throw err;
    }
  });
  return done ?? false;
}

/** Whether every end still exists under its name and alias. */
export async function wireAlive(netlinks: NetlinkCache, wire: Wire): Promise<boolean> {
  for (const end of wire.ends) {
    const { nsPath, nsKey, name } = end.target;
    const link = await inNamespace(netlinks, nsPath, nsKey, (nl) => findOwned(nl, end.index, wire.alias));
    if (link?.name !== name) return false;
  }
  return true;
}

/** Removes every end of the wire that still exists; errors are collected and thrown at the end. */
export async function removeWire(netlinks: NetlinkCache, wire: Wire): Promise<void> {
  const errors: unknown[] = [];
  for (const end of wire.ends) {
    await deleteOwned(netlinks, { ...end.target, index: end.index }, wire.alias).catch((err: unknown) =>
      errors.push(err),
    );
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1)
    throw new AggregateError(errors, `removing the wire of connection ${wire.connId} failed`);
}

const GONE_ALREADY = new Set(['ESRCH', 'ENOENT', 'EADDRNOTAVAIL', 'ENODEV']);

/**
 * Brings one end's MTU and IP configuration to `target`, sending only differences: new addresses
 * before old ones go (removing an interface's last IPv4 address flushes its routes, so routes are
 * all re-added after any address removal), then routes and neighbours.
 */
export async function updateEnd(
  nl: Netlink,
  end: WireEnd,
  target: EndTarget,
  mtu: number | undefined,
): Promise<void> {
  const have = end.applied;
  const want = target.config;
  const first = [
    ...(mtu !== undefined && mtu !== end.mtu ? [setLinkRequest(end.index, { mtu })] : []),
    ...addressRequests(end.index, want, have),
  ];
  const removals = removalRequests(end.index, want, have);
  if (first.length + removals.length > 0) {
    await nl.execute([...first, ...removals]).catch((err: unknown) => {
      // What is already gone need not be removed.
      const at = err instanceof KernelError ? (err.position?.index ?? 0) : -1;
      if (!(err instanceof KernelError && at >= first.length && GONE_ALREADY.has(err.errnoName))) throw err;
    });
  }
  const flushed = have.addresses.some((a) => !want.addresses.includes(a));
  const routes = routeRequests(end.index, want, flushed ? { ...have, routes: [] } : have);
  if (routes.length > 0) await nl.execute(routes);
  end.applied = want;
  if (mtu !== undefined) end.mtu = mtu;
}

/**
 * The per-connection life of wires, shared by the mechanism elements: build on the first request,
 * adopt a previous run's interfaces on a replay, keep and update on refresh (rebuild only when the
 * wire is gone or must be different), remove exactly what was built on close.
 */
import type { Context } from '@nsm-ts/sdk/core';
import { Code, NsmError } from '@nsm-ts/sdk/core';
import type { Logger } from '@nsm-ts/sdk/core';
import { findEventFactory } from '@nsm-ts/sdk/elements';
import { parseIp } from '../kernel/netlink/inet.js';
import type { StaleLink } from './adopt.js';
import { formatAlias } from './alias.js';
import { buildTapWire } from './build-tap.js';
import { buildVeth } from './build-veth.js';
import { buildVxlan } from './build-vxlan.js';
import type { KernelDeps } from './deps.js';
import { deviceMatches, tapWired } from './tap.js';
import {
  type Wire,
  type WireEnd,
  type WirePlan,
  deleteOwned,
  inNamespace,
  planKey,
  removeWire,
  updateEnd,
  wireAlive,
} from './wire.js';

const sameIp = (a: string | undefined, b: string): boolean =>
  a !== undefined && parseIp(a).bytes.equals(parseIp(b).bytes);

function matches(link: StaleLink, plan: WirePlan, i: number): boolean {
  const end = plan.ends[i];
  if (!end || link.nsKey !== end.nsKey || link.name !== end.name) return false;
  if (end.device) return deviceMatches(link, end, plan.tap);
  if (link.kind !== plan.kind) return false;
  const t = plan.tunnel;
  if (!t) return true;
  const v = link.vxlan;
  return (
    v?.vni === t.vni &&
    v.port === t.port &&
    sameIp(v.local, t.local) &&
    sameIp(v.remote, t.remote) &&
    (v.df ?? false) === (t.df ?? false)
  );
}

/** Takes over a previous run's links when they are exactly what the plan wants; deletes the rest. */
async function adopt(
  deps: KernelDeps,
  connId: string,
  alias: string,
  plan: WirePlan,
  log: Logger,
): Promise<Wire | undefined> {
  const stale = deps.adoption.claim(connId);
  if (stale.length === 0) return undefined;
  const picked = plan.ends.map((_, i) => stale.find((l) => matches(l, plan, i)));
  const [a, b] = picked;
  const ok =
    picked.every((l) => l !== undefined) &&
    (plan.kind !== 'veth' || (a?.link === b?.index && b?.link === a?.index)) &&
    (!plan.tap || tapWired(plan, picked));
  for (const link of stale) {
    if (!ok || !picked.includes(link)) await deleteOwned(deps.netlinks, link, alias);
  }
  if (!ok) {
    log.info(
      {
        connId,
        links: stale.map((l) => ({ name: l.name, kind: l.kind, ns: l.nsKey, vxlan: l.vxlan })),
        want: plan.ends.map((e) => ({ name: e.name, ns: e.nsKey })),
        tunnel: plan.tunnel,
      },
      'interfaces of a previous run do not match; rebuilding',
    );
    return undefined;
  }
  const ends = await Promise.all(
    plan.ends.map(async (target, i): Promise<WireEnd> => {
      const link = picked[i] as StaleLink;
      // What the previous run configured is not known beyond the addresses the link has now.
      const addrs = await inNamespace(deps.netlinks, target.nsPath, target.nsKey, (nl) => nl.listAddresses());
      const addresses = (addrs ?? [])
        .filter((x) => x.index === link.index && !x.linkLocal)
        .map((x) => x.cidr);
      return { target, index: link.index, applied: { addresses, routes: [], neighbors: [] }, mtu: link.mtu };
    }),
  );
  log.info({ connId, links: stale.map((l) => l.name) }, 'adopted interfaces of a previous run');
  return { connId, alias, key: planKey(plan), plan, ends, closeConnection: undefined };
}

async function update(deps: KernelDeps, wire: Wire, plan: WirePlan): Promise<void> {
  wire.plan = plan;
  await Promise.all(
    wire.ends.map(async (end, i) => {
      const target = plan.ends[i];
      if (!target) throw new NsmError(Code.INTERNAL, `plan of connection ${wire.connId} lost an end`);
      const done = await inNamespace(deps.netlinks, target.nsPath, target.nsKey, async (nl) => {
        await updateEnd(nl, end, target, plan.mtu);
        return true;
      });
      if (done === undefined) throw new NsmError(Code.NOT_FOUND, `${target.nsPath} is gone`);
      end.target = target;
    }),
  );
}

function remember(deps: KernelDeps, wire: Wire, ctx: Context): Wire {
  const factory = findEventFactory(ctx);
  wire.closeConnection = factory ? () => factory.close() : undefined;
  deps.wires.set(wire.connId, wire);
  if (wire.plan.tunnel) deps.nodeVnis.set(wire.plan.tunnel.vni, wire.connId);
  return wire;
}

async function build(deps: KernelDeps, plan: WirePlan, alias: string): Promise<WireEnd[]> {
  if (plan.tap) return buildTapWire(deps, plan, alias, (wire) => build(deps, wire, alias));
  if (plan.kind === 'veth') return buildVeth(deps.netlinks, plan, alias);
  const node = deps.netlinkFor(null);
  try {
    return await buildVxlan(deps.netlinks, node.nl, plan, alias);
  } finally {
    node.release();
  }
}

/**
 * Makes the wire of `connId` match `plan`. Whatever it built is in `deps.wires` before it can fail
 * again, so the caller's rollback ({@link dropWire}) removes it.
 * Usage: `await ensureWire(deps, conn.id, plan, ctx)`.
 */
export async function ensureWire(
  deps: KernelDeps,
  connId: string,
  plan: WirePlan,
  ctx: Context,
): Promise<Wire> {
  const log = ctx.log;
  const alias = formatAlias(deps.owner, connId);
  const key = planKey(plan);
  const current = deps.wires.get(connId);
  if (current && current.key === key && (await wireAlive(deps.netlinks, current))) {
    await update(deps, current, plan);
    return current;
  }
  if (current) {
    log.info(
      { connId, was: current.key, now: key },
      current.key === key ? 'wire is gone: rebuilding' : 'wire changed: rebuilding',
    );
    await dropWire(deps, connId, log);
  } else {
    const adopted = await adopt(deps, connId, alias, plan, log);
    if (adopted) {
      await update(deps, remember(deps, adopted, ctx), plan);
      return adopted;
    }
  }
  const ends = await build(deps, plan, alias);
  log.debug({ connId, key }, 'wire built');
  return remember(deps, { connId, alias, key, plan, ends, closeConnection: undefined }, ctx);
}

/**
 * Removes the wire of `connId` (and any unclaimed interfaces a previous run left for it). Errors
 * are logged, not thrown: a close must go on to the next hop.
 */
export async function dropWire(deps: KernelDeps, connId: string, log: Logger): Promise<void> {
  const wire = deps.wires.get(connId);
  deps.wires.delete(connId);
  const vni = wire?.plan.tunnel?.vni;
  if (vni !== undefined && deps.nodeVnis.get(vni) === connId) deps.nodeVnis.delete(vni);
  const alias = formatAlias(deps.owner, connId);
  try {
    if (wire) await removeWire(deps.netlinks, wire);
    for (const link of deps.adoption.claim(connId)) await deleteOwned(deps.netlinks, link, alias);
  } catch (err) {
    log.warn({ connId, err: String(err) }, 'removing the wire failed');
  }
}

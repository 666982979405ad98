/**
 * Building a tap plan (tap.ts) in the client's pod, after the wire's own ends exist:
 *
 * 1. the bridge, created in the pod under a temporary name and marked;
 * 2. the tap, created in the node namespace through /dev/net/tun under a temporary name and marked,
 *    then moved into the pod as a VXLAN device is;
 * 3. in one batch: the bridge renamed to its generated name and brought up; the tap renamed to the
 *    client's name, given the MTU, made a port of the bridge and brought up; the wire's client end
 *    (already named, up and without addresses) made the bridge's other port.
 *
 * Nothing gets an address or a route. Whatever fails, every link this built and the wire's own ends
 * are removed before the error is thrown.
 */
import { Code, NsmError } from '@nsm-ts/sdk/core';
import { createLinkRequest, getLinkRequest, setLinkRequest } from '../kernel/netlink/link-requests.js';
import { parseLink } from '../kernel/netlink/link-info.js';
import type { Netlink } from '../kernel/netlink/netlink.js';
import { createTap } from '../kernel/tap.js';
import { atEnd, failedAt, isTaken, nameTaken, temporaryName } from './build-errors.js';
import { moveIntoPod } from './build-vxlan.js';
import type { KernelDeps } from './deps.js';
import { EMPTY_CONFIG } from './pod-config.js';
import { type EndTarget, type WireEnd, type WirePlan, deleteOwned, findOwned, inNamespace } from './wire.js';

/** Runs `fn` on a socket in the end's namespace; NOT_FOUND when the namespace is gone. */
async function inPod<T>(deps: KernelDeps, end: EndTarget, fn: (nl: Netlink) => Promise<T>): Promise<T> {
  const done = await inNamespace(deps.netlinks, end.nsPath, end.nsKey, async (nl) => ({
    value: await fn(nl),
  }));
  if (!done) throw new NsmError(Code.NOT_FOUND, `the client pod's namespace ${end.nsPath} is gone`);
  return done.value;
}

/**
 * Creates the bridge in the pod under a temporary name, marked and down; resolves with its index.
 * The kernel runs every message of a batch even after one fails, so the messages that follow the
 * creation name a link only this call can have made: a random name, never the wanted one.
 */
async function createBridge(deps: KernelDeps, br: EndTarget, mtu: number | undefined, alias: string) {
  const tmp = temporaryName();
  return inPod(deps, br, async (nl) => {
    try {
      const [, , got] = await nl.execute([
        createLinkRequest(tmp, 'bridge', mtu),
        setLinkRequest(tmp, { alias }),
        getLinkRequest(tmp),
      ]);
      const payload = got?.[0]?.payload;
      if (!payload) throw new NsmError(Code.INTERNAL, `bridge ${tmp}: the kernel sent no link back`);
      return parseLink(payload).index;
    } catch (err) {
      // Created but not marked: nothing else would ever remove it.
      if (failedAt(err) > 0) await nl.deleteLink(tmp).catch(() => undefined);
      throw atEnd(br, err);
    }
  });
}

/** Creates the tap in the node namespace, marked; resolves with its index there. */
async function createNodeTap(
  deps: KernelDeps,
  node: Netlink,
  plan: WirePlan,
  alias: string,
): Promise<number> {
  const name = temporaryName();
  const index = createTap(name, {
    nsPath: deps.nodeNs,
    multiQueue: plan.tap?.multiQueue ?? false,
    ...(plan.tap?.owner !== undefined ? { owner: plan.tap.owner } : {}),
    ...(plan.tap?.group !== undefined ? { group: plan.tap.group } : {}),
  });
  try {
    await node.execute([setLinkRequest(index, { alias })]);
  } catch (err) {
    await node.deleteLink(index).catch(() => undefined);
    throw err;
  }
  return index;
}

/** Moves the node's tap into the pod; resolves with its index there. On failure it is deleted. */
async function moveTap(deps: KernelDeps, node: Netlink, index: number, tap: EndTarget, alias: string) {
  try {
    return await moveIntoPod(deps.netlinks, node, await node.getLink(index), tap, alias);
  } catch (err) {
    if (await findOwned(node, index, alias).catch(() => undefined))
      await node.deleteLink(index).catch(() => undefined);
    throw err;
  }
}

/**
 * One batch in the pod: the bridge renamed and raised; the tap renamed, sized, made a port and
 * raised; the wire's end made a port. Every message names its link by index, so a name taken in the
 * pod fails its own rename and touches nobody else's link.
 */
async function joinBridge(
  deps: KernelDeps,
  at: { br: EndTarget; tap: EndTarget; tapIndex: number; portIndex: number; bridgeIndex: number },
  mtu: number | undefined,
  alias: string,
): Promise<void> {
  const master = at.bridgeIndex;
  await inPod(deps, at.tap, async (nl) => {
    try {
      await nl.execute([
        setLinkRequest(master, { name: at.br.name, up: true }),
        setLinkRequest(at.tapIndex, { name: at.tap.name, alias, ...(mtu ? { mtu } : {}), master, up: true }),
        setLinkRequest(at.portIndex, { master }),
      ]);
    } catch (err) {
      const end = failedAt(err) === 1 ? at.tap : at.br;
      throw isTaken(err) && failedAt(err) <= 1 ? nameTaken(end, err) : atEnd(end, err);
    }
  });
}

/**
 * Builds a tap plan: `base` builds the wire's own ends (the plan without its tap and bridge, which
 * cleans up after itself), then the bridge and the tap join them. Resolves with the ends in the
 * plan's order; on failure nothing of it is left.
 * Usage: `await buildTapWire(deps, plan, alias, (p) => buildVeth(deps.netlinks, p, alias))`.
 */
export async function buildTapWire(
  deps: KernelDeps,
  plan: WirePlan,
  alias: string,
  base: (plan: WirePlan) => Promise<WireEnd[]>,
): Promise<WireEnd[]> {
  const tap = plan.ends.find((e) => e.device === 'tap');
  const br = plan.ends.find((e) => e.device === 'bridge');
  const port = plan.ends[0];
  if (!tap || !br || !port || port.device || !plan.tap)
    throw new NsmError(Code.INTERNAL, 'a tap plan needs the wire, a tap and a bridge');
  const { tap: _tap, ...wirePlan } = plan;
  const wire = await base({ ...wirePlan, ends: plan.ends.filter((e) => !e.device) });
  const built: WireEnd[] = [...wire];
  const end = (target: EndTarget, index: number): WireEnd => ({
    target,
    index,
    applied: EMPTY_CONFIG,
    mtu: plan.mtu,
  });
  const node = deps.netlinkFor(null);
  try {
    const bridgeIndex = await createBridge(deps, br, plan.mtu, alias);
    const bridge = end(br, bridgeIndex);
    built.push(bridge);
    const tapIndex = await moveTap(
      deps,
      node.nl,
      await createNodeTap(deps, node.nl, plan, alias),
      tap,
      alias,
    );
    const tapEnd = end(tap, tapIndex);
    built.push(tapEnd);
    const portIndex = wire[0]?.index ?? 0;
    await joinBridge(deps, { br, tap, tapIndex, portIndex, bridgeIndex }, plan.mtu, alias);
    return [...wire, tapEnd, bridge];
  } catch (err) {
    for (const b of built)
      await deleteOwned(deps.netlinks, { ...b.target, index: b.index }, alias).catch(() => false);
    throw err;
  } finally {
    node.release();
  }
}

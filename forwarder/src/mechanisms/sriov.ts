/**
 * KERNEL with an SR-IOV VF: a client whose KERNEL mechanism carries `tokenID` (its pod's token of a
 * pool, see the SDK's sriovToken elements) gets a VF of that pool as its interface, and so does the
 * endpoint on this node that answered KERNEL with a token of its own: the two VFs meet in the NIC.
 * Each VF's netdev is moved from the node into its pod, renamed, marked, brought up, addressed and
 * routed like any kernel interface; on close it is moved back and given its original name again,
 * and the VF goes back to the pool. What a connection holds lives in its metadata.
 */
import { closeSync } from 'node:fs';
import { clone, type Connection, type Mechanism } from '@nsm-ts/sdk/api';
import { Code, NsmError, metadataSlot, type Context, type NetworkServiceHandler } from '@nsm-ts/sdk/core';
import type { NetworkServiceRequest } from '@nsm-ts/sdk/api';
import { kernelInterfaceName, nextHopMechanismOf, stableInterfaceName } from '@nsm-ts/sdk/elements';
import { setLinkRequest } from '../kernel/netlink/link-requests.js';
import type { SriovPool, VfLease } from '../sriov/index.js';
import { configureEnd, openEndNamespace } from './build-veth.js';
import { moveIntoPod } from './build-vxlan.js';
import type { KernelDeps } from './deps.js';
import { nsKeyOf } from './netlink-cache.js';
import { EMPTY_CONFIG, podConfig } from './pod-config.js';
import { podEnd, type PodEnd } from './plans.js';
import { listNamespaces } from './adopt.js';
import { inNamespace, type EndTarget } from './wire.js';

/** The KERNEL parameter that names a pod's SR-IOV token, as upstream. */
export const TOKEN_ID = 'tokenID';
/** Marks a VF moved into a pod: `nsm-vf:<owner>:<connection id>:<its name in the node>`. */
export const VF_ALIAS_PREFIX = 'nsm-vf:';

/** One VF a connection holds: where it is and what it was called in the node. */
interface HeldVf {
  lease: VfLease;
  target: EndTarget;
  index: number;
}

const kVfs = metadataSlot<HeldVf[]>('sriov.vfs', 'server');

/** The token of a KERNEL mechanism, if it asks for a VF. */
export function tokenOf(mech: Mechanism | null | undefined): string | undefined {
  return mech?.parameters[TOKEN_ID] || undefined;
}

function nodeTarget(deps: KernelDeps, name: string): EndTarget {
  const nsPath = deps.nodeNs ?? '/proc/self/ns/net';
  return { role: 'nse', nsPath, nsKey: nsKeyOf(nsPath), name, side: 'dst', config: EMPTY_CONFIG };
}

/**
 * Moves the leased VF's netdev into `pod` (still under its node name, marked); its name and
 * configuration come after, once the caller holds it. A failure before the move unmarks it again.
 */
async function moveVfIn(deps: KernelDeps, lease: VfLease, pod: EndTarget, connId: string): Promise<HeldVf> {
  const netdev = lease.netdev;
  if (!netdev)
    throw new NsmError(
      Code.INTERNAL,
      `VF ${lease.address} has no netdev in the node: is it bound to its kernel driver?`,
    );
  const alias = `${VF_ALIAS_PREFIX}${deps.owner}:${connId}:${netdev}`;
  const node = deps.netlinkFor(null);
  try {
    const dev = await node.nl.findLink(netdev);
    if (!dev)
      throw new NsmError(
        Code.NOT_FOUND,
        `VF ${lease.address}'s netdev ${netdev} is not in the node namespace`,
      );
    await node.nl.execute([setLinkRequest(dev.index, { alias, up: false })]);
    try {
      const index = await moveIntoPod(deps.netlinks, node.nl, { ...dev, alias }, pod, alias);
      return { lease, target: pod, index };
    } catch (err) {
      await node.nl.execute([setLinkRequest(dev.index, { alias: '' })]).catch(() => undefined);
      throw err;
    }
  } finally {
    node.release();
  }
}

/** Moves a VF back into the node under its original name, down and unmarked; errors are logged. */
async function moveVfBack(deps: KernelDeps, held: HeldVf, ctx: Context): Promise<void> {
  const name = held.lease.netdev ?? '';
  const fd = openEndNamespace(nodeTarget(deps, name));
  try {
    const moved = await inNamespace(deps.netlinks, held.target.nsPath, held.target.nsKey, async (nl) => {
      await nl.execute([setLinkRequest(held.index, { up: false })]);
      await nl.execute([setLinkRequest(held.index, { nsFd: fd })]);
      return true;
    });
    if (!moved) ctx.log.warn({ vf: held.lease.address }, 'the pod of a VF is gone: the VF went with it');
    else {
      const node = deps.netlinkFor(null);
      try {
        const alias = `${VF_ALIAS_PREFIX}${deps.owner}:`;
        const back = (await node.nl.listLinks()).find(
          (l) => l.alias?.startsWith(alias) === true && l.alias.endsWith(`:${name}`),
        );
        if (back) await node.nl.execute([setLinkRequest(back.index, { name, alias: '' })]);
      } finally {
        node.release();
      }
    }
  } catch (err) {
    ctx.log.warn({ vf: held.lease.address, err: String(err) }, 'giving the VF back to the node failed');
  } finally {
    closeSync(fd);
  }
}

async function releaseAll(deps: KernelDeps, pool: SriovPool, ctx: Context, connId: string): Promise<void> {
  for (const held of kVfs.get(ctx) ?? []) await moveVfBack(deps, held, ctx);
  kVfs.delete(ctx);
  pool.release(`${connId}/nsc`);
  pool.release(`${connId}/nse`);
}

/** A pod's VF: leased for `owner`, moved into `pod`. */
async function vfFor(
  deps: KernelDeps,
  pool: SriovPool,
  ctx: Context,
  o: { owner: string; tokenId: string; pod: EndTarget; connId: string },
): Promise<HeldVf> {
  const lease = await pool.acquire({
    owner: o.owner,
    tokenId: o.tokenId,
    driver: 'kernel',
    signal: ctx.signal,
  });
  const held = await moveVfIn(deps, lease, o.pod, o.connId);
  // Held before it is named and configured: should that fail, the caller's release moves it back.
  kVfs.set(ctx, [...(kVfs.get(ctx) ?? []), held]);
  const alias = `${VF_ALIAS_PREFIX}${deps.owner}:${o.connId}:${lease.netdev ?? ''}`;
  await configureEnd(
    deps.netlinks,
    { target: o.pod, index: held.index, applied: EMPTY_CONFIG, mtu: undefined },
    alias,
  );
  return held;
}

/**
 * The SR-IOV request of a KERNEL client (its mechanism has `tokenID`); called by the KERNEL element.
 * FAILED_PRECONDITION without an SR-IOV pool on this forwarder, or when the endpoint did not answer
 * with a VF of its own (its token).
 */
export async function requestSriov(
  deps: KernelDeps,
  pool: SriovPool | undefined,
  ctx: Context,
  req: NetworkServiceRequest,
  next: NetworkServiceHandler,
): Promise<Connection> {
  const conn = req.connection!;
  const mech = clone(conn.mechanism!);
  if (!pool)
    throw new NsmError(
      Code.FAILED_PRECONDITION,
      `the client asks for an SR-IOV VF (tokenID ${tokenOf(mech)}), but this forwarder has no SR-IOV config: set NSM_SRIOV_CONFIG_FILE`,
    );
  const client: PodEnd = podEnd(mech, 'nsc', kernelInterfaceName(mech, conn.network_service), {
    sriov: true,
  });
  const result = await next.request(ctx, { ...req, connection: { ...conn, mechanism: mech } });
  try {
    const nse = nextHopMechanismOf(ctx);
    const endpointToken = tokenOf(nse);
    if (nse?.type !== 'KERNEL' || !endpointToken)
      throw new NsmError(
        Code.FAILED_PRECONDITION,
        `the endpoint answered ${nse?.type ?? 'no mechanism'}${nse?.type === 'KERNEL' ? ' without tokenID' : ''}: an SR-IOV client is joined to an SR-IOV endpoint on its node (their VFs meet in the NIC); expected the endpoint to hold a token of the same pool`,
      );
    if (!kVfs.get(ctx)) {
      const name = nse.parameters['name'] || stableInterfaceName(result.network_service, result.id);
      const endpoint = podEnd(nse, 'nse', name, { sriov: true });
      const target = (pod: PodEnd, side: 'src' | 'dst'): EndTarget => ({
        ...pod,
        side,
        config: podConfig(result.context, side),
      });
      await vfFor(deps, pool, ctx, {
        owner: `${result.id}/nsc`,
        tokenId: tokenOf(mech)!,
        pod: target(client, 'src'),
        connId: result.id,
      });
      await vfFor(deps, pool, ctx, {
        owner: `${result.id}/nse`,
        tokenId: endpointToken,
        pod: target(endpoint, 'dst'),
        connId: result.id,
      });
    }
    return { ...result, mechanism: mech };
  } catch (err) {
    await releaseAll(deps, pool, ctx, result.id);
    await next.close(ctx, result).catch(() => undefined);
    throw err;
  }
}

/** Gives back what the connection of `ctx` holds (its VFs to the node, their leases to the pool). */
export async function closeSriov(
  deps: KernelDeps,
  pool: SriovPool | undefined,
  ctx: Context,
  connId: string,
): Promise<void> {
  if (pool) await releaseAll(deps, pool, ctx, connId);
}

/**
 * At start: every VF a previous run of this forwarder left in a pod (marked `nsm-vf:<owner>:...`)
 * goes back to the node under its original name. The connections it served heal by asking again,
 * and get a VF anew; a VF is never left in a pod that no connection of this run holds.
 * Returns how many it gave back.
 */
export async function returnStrayVfs(deps: KernelDeps): Promise<number> {
  const mark = `${VF_ALIAS_PREFIX}${deps.owner}:`;
  const nodePath = deps.nodeNs ?? '/proc/self/ns/net';
  const nodeKey = nsKeyOf(nodePath);
  let count = 0;
  for (const ns of listNamespaces([nodePath])) {
    const links = await inNamespace(deps.netlinks, ns.path, ns.key, (nl) => nl.listLinks()).catch(
      () => undefined,
    );
    for (const link of links ?? []) {
      if (!link.alias?.startsWith(mark)) continue;
      const original = link.alias.slice(link.alias.lastIndexOf(':') + 1);
      try {
        if (ns.key !== nodeKey) {
          const fd = openEndNamespace(nodeTarget(deps, original));
          try {
            await inNamespace(deps.netlinks, ns.path, ns.key, (nl) =>
              nl.execute([
                setLinkRequest(link.index, { up: false }),
                setLinkRequest(link.index, { nsFd: fd }),
              ]),
            );
          } finally {
            closeSync(fd);
          }
        }
        const node = deps.netlinkFor(null);
        try {
          const back = (await node.nl.listLinks()).find((l) => l.alias === link.alias);
          if (back) await node.nl.execute([setLinkRequest(back.index, { name: original, alias: '' })]);
        } finally {
          node.release();
        }
        count++;
        deps.log.info({ vf: original, from: ns.path }, 'a VF of a previous run went back to the node');
      } catch (err) {
        deps.log.warn(
          { vf: original, from: ns.path, err: String(err) },
          'cannot give a VF of a previous run back',
        );
      }
    }
  }
  return count;
}

/**
 * Who may use an interface name in a pod. A pod owns the names it asks for: a link under that name
 * that carries this forwarder's mark for another connection is a leftover of an earlier life of the
 * pod (a client killed and restarted, a passthrough restarted, a previous forwarder run) and is
 * replaced — on the client's side its connection is closed first, through the whole path, so no hop
 * keeps a second interface for it. A link without this forwarder's mark is never touched.
 */
import type { Logger } from '@nsm-ts/sdk/core';
import { parseAlias } from './alias.js';
import { nameTaken } from './build-errors.js';
import type { KernelDeps } from './deps.js';
import type { PodEnd } from './plans.js';
import { deleteOwned, inNamespace } from './wire.js';
import { dropWire } from './wires.js';

/** Whether a live connection holding the name gives it up (client side) or keeps it (endpoint side). */
export type Holders = 'evict' | 'keep';

/**
 * Frees `pod.name` in the pod for the connection marked `alias`. Throws ALREADY_EXISTS when the
 * name belongs to a link that is not this forwarder's, or (with `holders: 'keep'`) to another live
 * connection of this forwarder.
 * Usage: `await claimName(deps, client, formatAlias(deps.owner, conn.id), 'evict', ctx.log)`.
 */
export async function claimName(
  deps: KernelDeps,
  pod: PodEnd,
  alias: string,
  holders: Holders,
  log: Logger,
): Promise<void> {
  const find = () => inNamespace(deps.netlinks, pod.nsPath, pod.nsKey, (nl) => nl.findLink(pod.name));
  const link = await find();
  if (!link || link.alias === alias) return;
  const oldAlias = link.alias ?? '';
  const mark = parseAlias(oldAlias);
  if (mark?.owner !== deps.owner) throw nameTaken(pod);
  const holder = deps.wires.get(mark.connId);
  if (holder) {
    if (holders === 'keep') throw nameTaken(pod);
    log.info(
      { name: pod.name, ns: pod.nsPath, previous: mark.connId },
      'the pod asks for an interface name an older connection of it holds: closing that connection',
    );
    const close = holder.closeConnection ?? (() => dropWire(deps, mark.connId, log));
    await close().catch((err: unknown) => {
      log.warn({ previous: mark.connId, err: String(err) }, 'closing the older connection failed');
    });
  }
  // What is left under that mark: a previous run's link, or one a failed close could not remove.
  const stale = deps.adoption.claim(mark.connId);
  for (const old of stale) await deleteOwned(deps.netlinks, old, oldAlias);
  const left = await find();
  if (left && left.alias === oldAlias) {
    await deleteOwned(deps.netlinks, { ...pod, index: left.index }, oldAlias);
    log.info({ name: pod.name, ns: pod.nsPath, previous: mark.connId }, 'removed a stale interface');
  } else if (left && left.alias !== alias) {
    throw nameTaken(pod);
  }
}

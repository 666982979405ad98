/**
 * The VFs a connection holds: leased from the pool, their netdevs moved from the node into a pod,
 * marked, renamed and configured, MAC and VLAN set through the PF where asked; and given back (the
 * netdev to the node under its original name, the settings cleared, the lease to the pool). What a
 * connection holds lives in its metadata. Used by the KERNEL element (a client with a token) and
 * the VLAN element (the endpoint's side of an SR-IOV connection from another node).
 */
import { closeSync } from 'node:fs';
import type { Mechanism } from '@nsm-ts/sdk/api';
import { Code, NsmError, metadataSlot, type Context } from '@nsm-ts/sdk/core';
import { vfSettingProblem } from '@nsm-ts/sdk/elements';
import { setLinkRequest, setVfRequest, type VfSettings } from '../kernel/netlink/link-requests.js';
import type { SriovPool, VfLease } from '../sriov/index.js';
import { configureEnd, openEndNamespace } from './build-veth.js';
import { moveIntoPod } from './build-vxlan.js';
import type { KernelDeps } from './deps.js';
import { nsKeyOf } from './netlink-cache.js';
import { EMPTY_CONFIG } from './pod-config.js';
import { inNamespace, type EndTarget } from './wire.js';

/** The KERNEL parameter that names a pod's SR-IOV token, as upstream. */
export const TOKEN_ID = 'tokenID';
/** The parameter asking for a port VLAN on the VF (set through the PF), as upstream's VLAN mechanism names it. */
export const VLAN_ID = 'vlan-id';
/** The KERNEL parameter asking for the VF's MAC (set through the PF). */
export const VF_MAC = 'mac';
/**
 * Marks a VF moved into a pod: `nsm-vf:<owner>:<connection id>:<its name in the node>`, and
 * `:<PF netdev>#<VF index>` after it when settings were made through the PF (so that a restarted
 * forwarder clears them too).
 */
export const VF_ALIAS_PREFIX = 'nsm-vf:';

/** One VF a connection holds: where it is, what it was called in the node, what was set through its PF. */
interface HeldVf {
  lease: VfLease;
  target: EndTarget;
  index: number;
  settings?: VfSettings;
}

const kVfs = metadataSlot<HeldVf[]>('sriov.vfs', 'server');

/** The token of a KERNEL mechanism, if it asks for a VF. */
export function tokenOf(mech: Mechanism | null | undefined): string | undefined {
  return mech?.parameters[TOKEN_ID] || undefined;
}

/** A mechanism's VF setting `key`, checked with the SDK's rule; INVALID_ARGUMENT naming a bad one. */
function setting(
  mech: Mechanism | null | undefined,
  key: typeof VLAN_ID | typeof VF_MAC,
): string | undefined {
  const value = mech?.parameters[key] || undefined;
  const problem = value === undefined ? undefined : vfSettingProblem(key, value);
  if (problem)
    throw new NsmError(Code.INVALID_ARGUMENT, `mechanism ${mech?.type ?? ''} parameter ${key} ${problem}`);
  return value;
}

/** The VLAN a mechanism asks for (`vlan-id`, 1..4094), undefined when it asks none (or 0). */
export function vlanOf(mech: Mechanism | null | undefined): number | undefined {
  if (mech?.parameters[VLAN_ID] === '0') return undefined;
  const text = setting(mech, VLAN_ID);
  return text === undefined ? undefined : Number(text);
}

/** What a mechanism asks to be set on its VF through the PF: its VLAN and MAC (`mac`). */
export function vfSettingsOf(
  mech: Mechanism | null | undefined,
  vlan = vlanOf(mech),
): VfSettings | undefined {
  const mac = setting(mech, VF_MAC);
  if (vlan === undefined && mac === undefined) return undefined;
  return { ...(vlan !== undefined ? { vlan } : {}), ...(mac !== undefined ? { mac } : {}) };
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

/** Sets MAC and VLAN of the held VF through its PF (in the node); a PF that cannot is FAILED_PRECONDITION. */
async function applySettings(deps: KernelDeps, held: HeldVf, settings: VfSettings): Promise<void> {
  const { lease } = held;
  const asked = [
    ...(settings.vlan !== undefined ? [`VLAN ${settings.vlan}`] : []),
    ...(settings.mac !== undefined ? [`MAC ${settings.mac}`] : []),
  ].join(' and ');
  if (!lease.pfNetdev)
    throw new NsmError(
      Code.FAILED_PRECONDITION,
      `cannot set ${asked} on VF ${lease.index} (${lease.address}): its PF ${lease.pfAddress} has no netdev in the node, and VF settings go through the PF's netdev`,
    );
  const node = deps.netlinkFor(null);
  try {
    await node.nl.execute([setVfRequest(lease.pfNetdev, lease.index, settings)]);
    held.settings = settings;
  } catch (err) {
    throw new NsmError(
      Code.FAILED_PRECONDITION,
      `cannot set ${asked} on VF ${lease.index} (${lease.address}) through its PF ${lease.pfNetdev}: ${(err as Error).message}; expected a PF driver with VF settings (an emulated PF is a veth, which has none)`,
    );
  } finally {
    node.release();
  }
}

/** Clears VLAN and/or MAC of VF `pf.index` of PF `pf.netdev`; errors are logged. */
export async function clearVf(
  deps: KernelDeps,
  pf: { netdev: string; index: number },
  what: { vlan: boolean; mac: boolean },
  log: Context['log'],
): Promise<void> {
  const node = deps.netlinkFor(null);
  try {
    await node.nl.execute([
      setVfRequest(pf.netdev, pf.index, {
        ...(what.vlan ? { vlan: 0 } : {}),
        ...(what.mac ? { mac: '00:00:00:00:00:00' } : {}),
      }),
    ]);
  } catch (err) {
    log.warn(
      { pf: pf.netdev, vf: pf.index, err: String(err) },
      'clearing the VF settings through its PF failed',
    );
  } finally {
    node.release();
  }
}

/** Clears what the connection set through the PF (the next holder sets its own). */
async function clearSettings(deps: KernelDeps, held: HeldVf, ctx: Context): Promise<void> {
  const set = held.settings;
  if (!set || !held.lease.pfNetdev) return;
  const pf = { netdev: held.lease.pfNetdev, index: held.lease.index };
  await clearVf(deps, pf, { vlan: set.vlan !== undefined, mac: set.mac !== undefined }, ctx.log);
}

/**
 * Moves a VF from `from` back into the node, renamed to `original` in the same message (two
 * pods' VFs of one name would collide in the node otherwise), then unmarks it.
 */
export async function moveToNode(
  deps: KernelDeps,
  from: { nsPath: string; nsKey: EndTarget['nsKey'] },
  index: number,
  original: string,
): Promise<boolean> {
  const fd = openEndNamespace(nodeTarget(deps, original));
  try {
    const moved = await inNamespace(deps.netlinks, from.nsPath, from.nsKey, async (nl) => {
      await nl.execute([setLinkRequest(index, { up: false })]);
      await nl.execute([setLinkRequest(index, { nsFd: fd, name: original })]);
      return true;
    });
    if (!moved) return false;
  } finally {
    closeSync(fd);
  }
  const node = deps.netlinkFor(null);
  try {
    const back = await node.nl.findLink(original);
    if (back) await node.nl.execute([setLinkRequest(back.index, { alias: '' })]);
  } finally {
    node.release();
  }
  return true;
}

/** Moves a held VF back into the node under its original name, down and unmarked; errors are logged. */
async function moveVfBack(deps: KernelDeps, held: HeldVf, ctx: Context): Promise<void> {
  try {
    if (!(await moveToNode(deps, held.target, held.index, held.lease.netdev ?? '')))
      ctx.log.warn({ vf: held.lease.address }, 'the pod of a VF is gone: the VF went with it');
  } catch (err) {
    ctx.log.warn({ vf: held.lease.address, err: String(err) }, 'giving the VF back to the node failed');
  }
}

/** Whether the connection of `ctx` holds its VFs already (a refresh). */
export function holdsVfs(ctx: Context): boolean {
  return kVfs.get(ctx) !== undefined;
}

/** Gives back every VF the connection of `ctx` holds, and the leases of its owners. */
export async function releaseVfs(
  deps: KernelDeps,
  pool: SriovPool,
  ctx: Context,
  connId: string,
): Promise<void> {
  for (const held of kVfs.get(ctx) ?? []) {
    await clearSettings(deps, held, ctx);
    await moveVfBack(deps, held, ctx);
  }
  kVfs.delete(ctx);
  pool.release(`${connId}/nsc`);
  pool.release(`${connId}/nse`);
}

/** Who a VF is for and how: a pool's token (or, with `name` alone, any VF of that pool). */
export interface VfAsk {
  owner: string;
  tokenId?: string;
  name?: string;
  pod: EndTarget;
  connId: string;
  settings?: VfSettings;
}

/** A pod's VF: leased for `owner`, moved into `pod`, set through its PF, named and configured. */
export async function vfFor(deps: KernelDeps, pool: SriovPool, ctx: Context, o: VfAsk): Promise<void> {
  const lease = await pool.acquire({
    owner: o.owner,
    ...(o.tokenId ? { tokenId: o.tokenId } : {}),
    ...(o.name ? { name: o.name } : {}),
    driver: 'kernel',
    signal: ctx.signal,
  });
  const held = await moveVfIn(deps, lease, o.pod, o.connId);
  // Held before it is set, named and configured: should that fail, the caller's release gives it back.
  kVfs.set(ctx, [...(kVfs.get(ctx) ?? []), held]);
  if (o.settings) await applySettings(deps, held, o.settings);
  const pfMark = held.settings ? `:${lease.pfNetdev ?? ''}#${lease.index}` : '';
  const alias = `${VF_ALIAS_PREFIX}${deps.owner}:${o.connId}:${lease.netdev ?? ''}${pfMark}`;
  await configureEnd(
    deps.netlinks,
    { target: o.pod, index: held.index, applied: EMPTY_CONFIG, mtu: undefined },
    alias,
  );
}

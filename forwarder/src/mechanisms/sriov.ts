/**
 * KERNEL with an SR-IOV VF: a client whose KERNEL mechanism carries `tokenID` (its pod's token of a
 * pool, see the SDK's sriovToken elements) gets a VF of that pool as its interface. Its other end
 * is a VF too, and the two meet in the NIC or on the physical network behind it:
 * - an endpoint on this node answers KERNEL, and gets the VF of its token, or without one a VF of
 *   the client's pool (its `sriovToken` label);
 * - an endpoint on another node is reached by the VLAN mechanism (sriov-remote.ts): the forwarder
 *   there gives the endpoint a VF of the same pool, on the same physical network.
 * `vlan-id` and `mac` on the client's mechanism are set on its VF through the PF (and the VLAN on
 * the other end's too, so that both are on it).
 */
import { clone, type Connection, MechanismType } from '@nsm-ts/sdk/api';
import { Code, NsmError, type Context, type NetworkServiceHandler } from '@nsm-ts/sdk/core';
import type { NetworkServiceRequest } from '@nsm-ts/sdk/api';
import {
  kernelInterfaceName,
  nextHopMechanismOf,
  SRIOV_TOKEN_LABEL,
  stableInterfaceName,
} from '@nsm-ts/sdk/elements';
import type { SriovPool } from '../sriov/index.js';
import type { KernelDeps } from './deps.js';
import { podConfig } from './pod-config.js';
import { podEnd, type PodEnd } from './plans.js';
import { holdsVfs, releaseVfs, tokenOf, vfFor, vfSettingsOf, vlanOf } from './sriov-vfs.js';
import type { EndTarget } from './wire.js';

export { TOKEN_ID, VF_ALIAS_PREFIX, VF_MAC, VLAN_ID, tokenOf } from './sriov-vfs.js';
export { parseVfAlias, returnStrayVfs } from './sriov-strays.js';

/** An end of a connection as a VF's target: its pod, side and the addresses of that side. */
export function vfTarget(pod: PodEnd, conn: Connection, side: 'src' | 'dst'): EndTarget {
  return { ...pod, side, config: podConfig(conn.context, side) };
}

/** FAILED_PRECONDITION unless this forwarder has an SR-IOV pool. */
export function needPool(pool: SriovPool | undefined, what: string): SriovPool {
  if (!pool)
    throw new NsmError(
      Code.FAILED_PRECONDITION,
      `${what}, but this forwarder has no SR-IOV config: set NSM_SRIOV_CONFIG_FILE`,
    );
  return pool;
}

/**
 * The SR-IOV request of a KERNEL client (its mechanism has `tokenID`); called by the KERNEL element.
 * FAILED_PRECONDITION without an SR-IOV pool on this forwarder, or when the next hop answered
 * neither KERNEL nor the VLAN mechanism of another node.
 */
export async function requestSriov(
  deps: KernelDeps,
  maybePool: SriovPool | undefined,
  ctx: Context,
  req: NetworkServiceRequest,
  next: NetworkServiceHandler,
): Promise<Connection> {
  const conn = req.connection!;
  const mech = clone(conn.mechanism!);
  const pool = needPool(maybePool, `the client asks for an SR-IOV VF (tokenID ${tokenOf(mech)})`);
  const settings = vfSettingsOf(mech);
  const client: PodEnd = podEnd(mech, 'nsc', kernelInterfaceName(mech, conn.network_service), {
    sriov: true,
  });
  const result = await next.request(ctx, { ...req, connection: { ...conn, mechanism: mech } });
  try {
    const nse = nextHopMechanismOf(ctx);
    const poolName = conn.labels[SRIOV_TOKEN_LABEL];
    const local =
      nse?.type === MechanismType.KERNEL && (tokenOf(nse) !== undefined || poolName !== undefined);
    if (!local && nse?.type !== MechanismType.VLAN)
      throw new NsmError(
        Code.FAILED_PRECONDITION,
        `the endpoint answered ${nse?.type ?? 'no mechanism'}${nse?.type === 'KERNEL' ? ' without tokenID, and the request has no sriovToken label naming the pool' : ''}: an SR-IOV client is joined to a KERNEL endpoint on its node, which gets a VF of the same pool (their VFs meet in the NIC), or over VLAN to an endpoint on another node`,
      );
    if (!holdsVfs(ctx)) {
      await vfFor(deps, pool, ctx, {
        owner: `${result.id}/nsc`,
        tokenId: tokenOf(mech)!,
        pod: vfTarget(client, result, 'src'),
        connId: result.id,
        ...(settings ? { settings } : {}),
      });
      if (local) {
        const name = nse.parameters['name'] || stableInterfaceName(result.network_service, result.id);
        const theirs = vfSettingsOf(nse, settings?.vlan);
        const token = tokenOf(nse);
        await vfFor(deps, pool, ctx, {
          owner: `${result.id}/nse`,
          ...(token ? { tokenId: token } : { name: poolName! }),
          pod: vfTarget(podEnd(nse, 'nse', name, { sriov: true }), result, 'dst'),
          connId: result.id,
          ...(theirs ? { settings: theirs } : {}),
        });
      } else if (vlanOf(nse) !== settings?.vlan) {
        throw new NsmError(
          Code.FAILED_PRECONDITION,
          `the endpoint's node answered VLAN ${vlanOf(nse) ?? 'none'} where the client asked ${settings?.vlan ?? 'none'}: the two VFs would not meet`,
        );
      }
    }
    return { ...result, mechanism: mech };
  } catch (err) {
    await releaseVfs(deps, pool, ctx, result.id);
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
  if (pool) await releaseVfs(deps, pool, ctx, connId);
}

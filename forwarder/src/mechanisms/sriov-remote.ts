/**
 * SR-IOV across nodes: the VLAN mechanism (REMOTE, as upstream names it) between the forwarder of
 * an SR-IOV client and the forwarder of the endpoint's node. The client's VF sends on the physical
 * network its PF is cabled to; the forwarder here gives the endpoint a VF of the same pool (a
 * pool is `<serviceDomain>/<capability>`, and a service domain is one physical network), so the two
 * VFs meet there. With `vlan-id` both VFs get that port VLAN through their PFs, which keeps
 * connections apart on the wire; without it they share the untagged network.
 *
 * Parameters: `sriov_pool` (ours: the client's pool), `vlan-id` (upstream's), and the offer's
 * `nsm_local_mechanism`. An endpoint that answers KERNEL with a token of its own gets that VF;
 * otherwise any free VF of the pool.
 */
import { clone, type Mechanism, MechanismType } from '@nsm-ts/sdk/api';
import { Code, NsmError, invalidArgument, type NetworkServiceElement } from '@nsm-ts/sdk/core';
import { nextHopMechanismOf, stableInterfaceName } from '@nsm-ts/sdk/elements';
import type { SriovPool } from '../sriov/index.js';
import type { KernelDeps } from './deps.js';
import { podEnd } from './plans.js';
import { needPool, vfTarget } from './sriov.js';
import { holdsVfs, releaseVfs, tokenOf, vfFor, vfSettingsOf, vlanOf } from './sriov-vfs.js';

/** The VLAN parameter naming the SR-IOV pool of the client's VF (ours). */
export const SRIOV_POOL_PARAMETER = 'sriov_pool';

/** The pool a VLAN mechanism names, checked against this forwarder's pools. */
function poolNameOf(mech: Mechanism, pool: SriovPool): string {
  const name = mech.parameters[SRIOV_POOL_PARAMETER];
  if (!name)
    throw invalidArgument(
      `VLAN mechanism without ${SRIOV_POOL_PARAMETER}: expected the SR-IOV pool <serviceDomain>/<capability> of the client's VF`,
    );
  if (!pool.names.includes(name))
    throw new NsmError(
      Code.FAILED_PRECONDITION,
      `an SR-IOV client of pool ${name} reached this node, whose NICs offer ${pool.names.join(', ') || 'no pool'}: expected a PF of that service domain here`,
    );
  return name;
}

/**
 * The VLAN mechanism element (receiving side) for the forwarder chain.
 * Usage: `mechanisms({ ..., VLAN: vlanMechanism(deps, { sriov: pool }) })`.
 */
export function vlanMechanism(deps: KernelDeps, options: { sriov?: SriovPool } = {}): NetworkServiceElement {
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      if (!conn?.mechanism) throw invalidArgument('VLAN request without connection.mechanism');
      const pool = needPool(
        options.sriov,
        'an SR-IOV client on another node reached this forwarder over VLAN',
      );
      const mech = clone(conn.mechanism);
      const name = poolNameOf(mech, pool);
      const vlan = vlanOf(mech);
      const result = await next.request(ctx, { ...req, connection: { ...conn, mechanism: mech } });
      try {
        const nse = nextHopMechanismOf(ctx);
        if (nse?.type !== MechanismType.KERNEL)
          throw new NsmError(
            Code.UNIMPLEMENTED,
            `the endpoint chose mechanism ${nse?.type ?? 'none'}; an SR-IOV connection over VLAN ends in a KERNEL endpoint, which gets a VF`,
          );
        if (!holdsVfs(ctx)) {
          const ifname = nse.parameters['name'] || stableInterfaceName(result.network_service, result.id);
          const token = tokenOf(nse);
          const settings = vfSettingsOf(nse, vlan);
          await vfFor(deps, pool, ctx, {
            owner: `${result.id}/nse`,
            ...(token ? { tokenId: token } : { name }),
            pod: vfTarget(podEnd(nse, 'nse', ifname, { sriov: true }), result, 'dst'),
            connId: result.id,
            ...(settings ? { settings } : {}),
          });
        }
        return { ...result, mechanism: mech };
      } catch (err) {
        await releaseVfs(deps, pool, ctx, result.id);
        await next.close(ctx, result).catch(() => undefined);
        throw err;
      }
    },
    async close(ctx, conn, next) {
      if (options.sriov) await releaseVfs(deps, options.sriov, ctx, conn.id);
      await next.close(ctx, conn);
    },
  };
}

/**
 * Turning negotiated mechanisms into wire plans: which pod namespaces, interface names, tunnel and
 * MTU. Everything is validated here, before anything is built.
 */
import type { Connection, Mechanism } from '@nsm-ts/sdk/api';
import { Code, NsmError, invalidArgument } from '@nsm-ts/sdk/core';
import { kernelParameters, stableInterfaceName } from '@nsm-ts/sdk/elements';
import { vxlanParameters } from '@nsm-ts/sdk/elements';
import { EXTERNAL_VNF_PARAMETER } from '@nsm-ts/sdk';
import { parseIp } from '../kernel/netlink/inet.js';
import { resolveNamespace } from '../kernel/netns.js';
import type { KernelDeps } from './deps.js';
import { contextMtu, tunnelMtu } from './mtu.js';
import { type NsKey, nsKeyOf } from './netlink-cache.js';
import { podConfig } from './pod-config.js';
import { refuseEndpointTap } from './tap.js';
import type { EndTarget, WirePlan } from './wire.js';

/** A pod's side of a KERNEL mechanism: its namespace and interface name. */
export interface PodEnd {
  readonly role: 'nsc' | 'nse';
  readonly nsPath: string;
  readonly nsKey: NsKey;
  readonly name: string;
}

const WHO = { nsc: 'client', nse: 'endpoint' } as const;

/**
 * Resolves the namespace of a KERNEL mechanism; `name` is the interface name to use there. A
 * mechanism asking for an SR-IOV device is refused unless `sriov` says the caller provides one.
 */
export function podEnd(
  mech: Mechanism,
  role: 'nsc' | 'nse',
  name: string,
  o: { sriov?: boolean } = {},
): PodEnd {
  const p = kernelParameters(mech);
  if (!o.sriov && (p.pciAddress || p.tokenID)) {
    throw new NsmError(
      Code.UNIMPLEMENTED,
      `the ${WHO[role]}'s KERNEL mechanism asks for an SR-IOV device (pciAddress/tokenID), which this forwarder does not provide`,
    );
  }
  const url = p.inodeURL;
  if (!url) {
    throw invalidArgument(
      `the ${WHO[role]}'s KERNEL mechanism has no inodeURL: expected its pod's network namespace (file:///proc/<pid>/ns/net or inode://<dev>/<ino>)`,
    );
  }
  try {
    const nsPath = resolveNamespace(url);
    return { role, nsPath, nsKey: nsKeyOf(nsPath), name };
  } catch (err) {
    const e = NsmError.from(err, Code.INVALID_ARGUMENT);
    throw new NsmError(e.code, `the ${WHO[role]}'s inodeURL ${url}: ${e.message}`, { cause: err });
  }
}

/** A pod's end with the addresses and routes of its side of the connection. */
export function target(pod: PodEnd, conn: Connection): EndTarget {
  const side = pod.role === 'nsc' ? 'src' : 'dst';
  return { ...pod, side, config: podConfig(conn.context, side) };
}

/** The endpoint's end from its KERNEL mechanism (name generated when it gave none). */
export function endpointEnd(nse: Mechanism, conn: Connection): PodEnd {
  refuseEndpointTap(nse);
  const given = nse.parameters['name'];
  return podEnd(nse, 'nse', given ? given : stableInterfaceName(conn.network_service, conn.id));
}

/** KERNEL ↔ KERNEL on this node: a veth between the two pods. */
export function vethPlan(client: PodEnd, nse: Mechanism, conn: Connection): WirePlan {
  const endpoint = endpointEnd(nse, conn);
  const mtu = contextMtu(conn);
  return { kind: 'veth', ends: [target(client, conn), target(endpoint, conn)], ...(mtu ? { mtu } : {}) };
}

/**
 * A VXLAN device in `pod` toward `remote`. `peerMtu` is the other side's MTU parameter, if any.
 * Usage: `await vxlanPlan(deps, pod, conn, { remote, vni, port })`.
 */
export async function vxlanPlan(
  deps: KernelDeps,
  pod: PodEnd,
  conn: Connection,
  t: { remote: string; vni: number; port: number; peerMtu?: number; df?: boolean },
): Promise<WirePlan> {
  if (!deps.tunnelIp)
    throw new NsmError(Code.FAILED_PRECONDITION, 'this forwarder has no tunnel IP: set NSM_TUNNEL_IP');
  const local = parseIp(deps.tunnelIp);
  const remote = parseIp(t.remote);
  if (local.family !== remote.family) {
    throw invalidArgument(
      `VXLAN peer ${t.remote} is not in the address family of this node's tunnel IP ${deps.tunnelIp}`,
    );
  }
  const family = remote.bytes.length === 4 ? 4 : 6;
  const mtu = tunnelMtu(await deps.underlayMtu(), family, contextMtu(conn), t.peerMtu);
  return {
    kind: 'vxlan',
    ends: [target(pod, conn)],
    tunnel: {
      local: deps.tunnelIp,
      remote: t.remote,
      vni: t.vni,
      port: t.port,
      ...(t.df ? { df: true } : {}),
    },
    mtu,
  };
}

/** The client side of a VXLAN wire from what the remote forwarder answered. */
export async function vxlanClientPlan(
  deps: KernelDeps,
  client: PodEnd,
  remote: Mechanism,
  conn: Connection,
): Promise<WirePlan> {
  const p = vxlanParameters(remote);
  if (!p.dstIp || p.vni === undefined) {
    throw invalidArgument(
      `the remote forwarder's VXLAN mechanism lacks ${p.dstIp ? 'vni' : 'dst_ip'}: expected both`,
    );
  }
  return vxlanPlan(deps, client, conn, {
    remote: p.dstIp,
    vni: p.vni,
    port: p.dstPort || deps.vxlanPort,
    ...(p.mtu ? { peerMtu: p.mtu } : {}),
    // Toward an external VNF's VTEP: see TunnelSpec.df.
    ...(remote.parameters[EXTERNAL_VNF_PARAMETER] ? { df: true } : {}),
  });
}

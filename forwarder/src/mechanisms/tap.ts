/**
 * A tap as the client's KERNEL interface, for a VM in the pod. The pod gets three links, all marked
 * with the connection's alias: the tap under the name the client asked for, a bridge, and the wire's
 * own client end (the veth end toward a local endpoint, or the VXLAN device toward another node)
 * under a generated name, as the bridge's other port. None of them carries the connection's
 * addresses or routes: those are for the guest's NIC behind the tap.
 *
 * The parameters (ours, not upstream's) are defined in the SDK (`tapOptions`). This file turns a
 * planned wire into its tap form and tells the adoption whether a previous run's links are that form;
 * build-tap.ts builds it.
 */
import { createHash } from 'node:crypto';

import type { Connection, Mechanism } from '@nsm-ts/sdk/api';
import { Code, NsmError } from '@nsm-ts/sdk/core';
import { KERNEL_DEVICE_PARAMETER, type TapOptions, tapOptions } from '@nsm-ts/sdk/elements';
import { checkTunDevice } from '../kernel/tap.js';
import type { StaleLink } from './adopt.js';
import type { RunPlan } from './memif-running.js';
import { EMPTY_CONFIG } from './pod-config.js';
import type { EndTarget, TapPlan, WirePlan } from './wire.js';

/**
 * The tap the client's KERNEL mechanism asks for (undefined: none), checked before the request goes
 * on: INVALID_ARGUMENT for bad parameters or a tap beside an SR-IOV device, FAILED_PRECONDITION when
 * this node has no usable /dev/net/tun. Usage: `const tap = tapRequest(conn.mechanism)`.
 */
export function tapRequest(mech: Mechanism): TapPlan | undefined {
  const tap = tapOptions(mech);
  if (!tap) return undefined;
  checkTunDevice();
  return tapPlanOf(tap);
}

function tapPlanOf(o: TapOptions): TapPlan {
  return {
    multiQueue: o.multiQueue ?? false,
    ...(o.owner !== undefined ? { owner: o.owner } : {}),
    ...(o.group !== undefined ? { group: o.group } : {}),
  };
}

/**
 * Throws UNIMPLEMENTED when an endpoint's KERNEL mechanism asks for a tap: the forwarder gives taps
 * to clients only (an endpoint's side keeps its addressed interface).
 */
export function refuseEndpointTap(nse: Mechanism): void {
  const device = nse.parameters[KERNEL_DEVICE_PARAMETER];
  if (device === undefined) return;
  throw new NsmError(
    Code.UNIMPLEMENTED,
    `the endpoint's KERNEL mechanism asks for ${KERNEL_DEVICE_PARAMETER}=${device}; this forwarder makes taps for clients only: expected the endpoint's mechanism without it`,
  );
}

/** The generated names of the bridge and of the wire's end in the pod: stable per connection. */
export function tapLinkNames(connId: string): { bridge: string; port: string } {
  const h = createHash('sha256').update(connId).digest('hex').slice(0, 9);
  return { bridge: `nsmbr-${h}`, port: `nsmwr-${h}` };
}

/**
 * The planned wire in its tap form when `tap` is asked for: the client's end (`ends[0]`) is renamed
 * to the generated port name and loses its IP configuration, and the tap (under the client's name)
 * and the bridge join the plan's ends, in that order after the wire's own. A tap toward a memif
 * endpoint is UNIMPLEMENTED; toward NOOP nothing is built, as without a tap.
 * Usage: `const { plan, run } = withTapDevice(tap, await planFor(...), conn)`.
 */
export function withTapDevice(
  tap: TapPlan | undefined,
  planned: { plan?: WirePlan; run?: RunPlan },
  conn: Connection,
): { plan?: WirePlan; run?: RunPlan } {
  if (!tap || !planned.plan) return planned;
  if (planned.run) {
    throw new NsmError(
      Code.UNIMPLEMENTED,
      'the client asks for a tap, and the endpoint serves MEMIF: a tap can be joined to KERNEL (same node) or VXLAN (another node)',
    );
  }
  const plan = planned.plan;
  const [client, ...rest] = plan.ends;
  if (client?.role !== 'nsc')
    throw new NsmError(Code.INTERNAL, `connection ${conn.id}: the plan has no client end to put a tap on`);
  const names = tapLinkNames(conn.id);
  if (client.name === names.bridge || client.name === names.port) {
    throw new NsmError(
      Code.INVALID_ARGUMENT,
      `the tap name "${client.name}" is the name this connection's bridge or wire end gets: expected another name`,
    );
  }
  const bare = (e: EndTarget, name: string, device?: 'tap' | 'bridge'): EndTarget => ({
    ...e,
    name,
    config: EMPTY_CONFIG,
    ...(device ? { device } : {}),
  });
  return {
    plan: {
      ...plan,
      ends: [
        bare(client, names.port),
        ...rest,
        bare(client, client.name, 'tap'),
        bare(client, names.bridge, 'bridge'),
      ],
      tap,
    },
  };
}

/** Whether a previous run's link is the tap or bridge end `end` of a plan with `tap`. */
export function deviceMatches(link: StaleLink, end: EndTarget, tap: TapPlan | undefined): boolean {
  if (end.device === 'bridge') return link.kind === 'bridge';
  const t = link.tun;
  return (
    end.device === 'tap' &&
    link.kind === 'tun' &&
    t?.type === 'tap' &&
    t.multiQueue === (tap?.multiQueue ?? false) &&
    t.owner === tap?.owner &&
    t.group === tap?.group
  );
}

/**
 * Whether the links picked for a tap plan (one per plan end, in order) are wired as the plan wants:
 * the tap and the wire's end in the client pod are both ports of the picked bridge.
 */
export function tapWired(plan: WirePlan, picked: readonly (StaleLink | undefined)[]): boolean {
  const at = plan.ends.findIndex((e) => e.device === 'bridge');
  const bridge = picked[at];
  if (!bridge) return false;
  return plan.ends.every((e, i) => {
    const inPod = e.role === 'nsc' && e.nsKey === bridge.nsKey && e.device !== 'bridge';
    return !inPod || picked[i]?.master === bridge.index;
  });
}

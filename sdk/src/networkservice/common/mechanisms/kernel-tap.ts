/**
 * A tap device as the client's KERNEL interface, for a VM running in the pod (qemu, a KubeVirt-style
 * launcher): the forwarder gives the pod a tap under the requested name instead of an addressed
 * interface, and bridges it to the wire in the pod. The connection's addresses are then the guest's.
 *
 * These parameters are ours. Upstream's KERNEL mechanism has none for the kind of device
 * (networkservicemesh/api defines name, inodeURL, pciAddress, tokenID, vlan, supportsVlan,
 * routeLocalNet and IPTables4NatTemplate; sdk-vpp's "kerneltap" is how a VPP forwarder makes an
 * ordinary kernel interface, not a tap for the pod). A forwarder that does not know them ignores
 * them and builds its usual interface, so a launcher should check it got a tap
 * (`/sys/class/net/<name>/tun_flags`).
 */
import { MechanismType, type Mechanism } from '../../../api/types.js';
import { invalidArgument } from '../../../core/errors.js';

/** KERNEL parameter naming the device the pod gets; `tap` is the one value. */
export const KERNEL_DEVICE_PARAMETER = 'nsm_kernel_device';
/** The value of {@link KERNEL_DEVICE_PARAMETER} that asks for a tap. */
export const TAP_DEVICE = 'tap';
/** `true`: the tap is multi-queue (IFF_MULTI_QUEUE), for a VM NIC with several queues. */
export const TAP_MULTI_QUEUE_PARAMETER = 'nsm_tap_multi_queue';
/** A uid that may attach to the tap without CAP_NET_ADMIN (an unprivileged qemu). */
export const TAP_OWNER_PARAMETER = 'nsm_tap_owner';
/** A gid whose members may attach to the tap without CAP_NET_ADMIN. */
export const TAP_GROUP_PARAMETER = 'nsm_tap_group';

const TAP_PARAMETERS = [TAP_MULTI_QUEUE_PARAMETER, TAP_OWNER_PARAMETER, TAP_GROUP_PARAMETER] as const;
const MAX_ID = 4294967294; // (uid_t)-1 means "none" to the kernel

/** How the tap is made. */
export interface TapOptions {
  /** IFF_MULTI_QUEUE. Whoever attaches must ask for it too (qemu does with `queues=N`, N > 1). */
  multiQueue?: boolean;
  /** This uid may attach without CAP_NET_ADMIN. */
  owner?: number;
  /** Members of this gid may attach without CAP_NET_ADMIN. */
  group?: number;
}

function idProblem(key: string, value: string): string | undefined {
  return /^\d{1,10}$/.test(value) && Number(value) <= MAX_ID
    ? undefined
    : `${key} is "${value}"; expected a numeric id 0..${MAX_ID}`;
}

/**
 * What is wrong with the tap parameters among `params` (a KERNEL mechanism's), phrased as
 * `<key> is "<value>"; expected ...`; undefined when they are good or absent. One rule for the SDK,
 * the lab's URL checks and the forwarder.
 */
export function tapProblem(params: Readonly<Record<string, string>>): string | undefined {
  const device = params[KERNEL_DEVICE_PARAMETER];
  if (device === undefined) {
    const stray = TAP_PARAMETERS.find((k) => params[k] !== undefined);
    return stray
      ? `${stray} is given without ${KERNEL_DEVICE_PARAMETER}=${TAP_DEVICE}; expected both or neither`
      : undefined;
  }
  if (device !== TAP_DEVICE)
    return `${KERNEL_DEVICE_PARAMETER} is "${device}"; expected "${TAP_DEVICE}" or no such parameter`;
  if (params['tokenID'] !== undefined || params['pciAddress'] !== undefined)
    return `${KERNEL_DEVICE_PARAMETER}=${TAP_DEVICE} is given with an SR-IOV device (tokenID/pciAddress); expected one of them: the tap is the pod's interface`;
  const mq = params[TAP_MULTI_QUEUE_PARAMETER];
  if (mq !== undefined && mq !== 'true' && mq !== 'false')
    return `${TAP_MULTI_QUEUE_PARAMETER} is "${mq}"; expected true or false`;
  for (const key of [TAP_OWNER_PARAMETER, TAP_GROUP_PARAMETER]) {
    const value = params[key];
    const problem = value === undefined ? undefined : idProblem(key, value);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * The tap a KERNEL mechanism asks for, or undefined when it asks for none; INVALID_ARGUMENT naming
 * a bad parameter (see {@link tapProblem}).
 * Usage: `const tap = tapOptions(conn.mechanism); if (tap) ...`.
 */
export function tapOptions(m: Mechanism): TapOptions | undefined {
  const problem = tapProblem(m.parameters);
  if (problem) throw invalidArgument(`KERNEL parameter ${problem}`);
  const p = m.parameters;
  if (p[KERNEL_DEVICE_PARAMETER] !== TAP_DEVICE) return undefined;
  const owner = p[TAP_OWNER_PARAMETER];
  const group = p[TAP_GROUP_PARAMETER];
  return {
    multiQueue: p[TAP_MULTI_QUEUE_PARAMETER] === 'true',
    ...(owner !== undefined ? { owner: Number(owner) } : {}),
    ...(group !== undefined ? { group: Number(group) } : {}),
  };
}

/**
 * A copy of the KERNEL mechanism `m` that asks for a tap; INVALID_ARGUMENT for another mechanism,
 * one asking for an SR-IOV device, or a bad id.
 * Usage: `withTap(kernelMechanism({ name: 'net0' }), { owner: 107 })`.
 */
export function withTap(m: Mechanism, options: TapOptions = {}): Mechanism {
  if (m.type !== MechanismType.KERNEL)
    throw invalidArgument(`a tap is a KERNEL interface; mechanism ${m.type} cannot ask for one`);
  const params: Record<string, string> = { ...m.parameters, [KERNEL_DEVICE_PARAMETER]: TAP_DEVICE };
  for (const key of TAP_PARAMETERS) delete params[key];
  if (options.multiQueue) params[TAP_MULTI_QUEUE_PARAMETER] = 'true';
  if (options.owner !== undefined) params[TAP_OWNER_PARAMETER] = String(options.owner);
  if (options.group !== undefined) params[TAP_GROUP_PARAMETER] = String(options.group);
  const out = { ...m, parameters: params };
  tapOptions(out);
  return out;
}

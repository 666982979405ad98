/** The KERNEL mechanism: a Linux interface moved into the pod's network namespace. */
import { createHash, randomInt } from 'node:crypto';
import { newMechanism } from '../../../api/builders.js';
import { MechanismClass, MechanismType, type Mechanism } from '../../../api/types.js';
import { invalidArgument } from '../../../core/errors.js';

/** Linux IFNAMSIZ is 16 including the terminating NUL. */
export const MAX_INTERFACE_NAME_LENGTH = 15;
const SERVICE_PART_LENGTH = 10;
const ALPHANUMERICS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Typed KERNEL parameters (the NSM API); absent ones are left out. */
export interface KernelParameters {
  /** Interface name in the pod, at most 15 bytes. */
  name?: string;
  /** The pod netns: `file:///proc/<pid>/ns/net` or `inode://<dev>/<ino>`. */
  inodeURL?: string;
  pciAddress?: string;
  tokenID?: string;
  supportsVlan?: boolean;
  vlan?: number;
  routeLocalNet?: boolean;
  IPTables4NatTemplate?: string;
}

/**
 * Throws INVALID_ARGUMENT unless `name` is a valid Linux interface name: 1..15 bytes, no `/`, `:` or
 * whitespace, not `.` or `..` (the kernel's dev_valid_name). Usage: `validateInterfaceName('nsm-1')`.
 */
export function validateInterfaceName(name: string, field = 'KERNEL parameter "name"'): void {
  const expected = `expected 1..${MAX_INTERFACE_NAME_LENGTH} bytes without "/", ":" or whitespace, not "." or ".."`;
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0 || bytes > MAX_INTERFACE_NAME_LENGTH) {
    throw invalidArgument(`${field} "${name}" is ${bytes} bytes long: ${expected}`);
  }
  if (/[/:\s]/.test(name) || name === '.' || name === '..') {
    throw invalidArgument(`${field} "${name}" is not a valid interface name: ${expected}`);
  }
}

/**
 * A fresh interface name: up to 10 characters of the service name, `-`, then random lower-case alphanumerics
 * up to 15 characters in all. Characters an interface name cannot hold become `-`.
 * Usage: `generateInterfaceName('icmp-responder') // e.g. "icmp-respo-x7k2"`.
 */
export function generateInterfaceName(service: string, random: (max: number) => number = randomInt): string {
  const head = service.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, SERVICE_PART_LENGTH) || 'nsm';
  let name = `${head}-`;
  while (name.length < MAX_INTERFACE_NAME_LENGTH) name += ALPHANUMERICS[random(ALPHANUMERICS.length)];
  return name;
}

/**
 * The generated name for connection `seed` (its id): always the same for the same connection, so a
 * refresh after a restart (of the endpoint or the forwarder) asks for the interface that exists.
 * Usage: `stableInterfaceName('4g-network', conn.id)` → `4g-network-k3x9`.
 */
export function stableInterfaceName(service: string, seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  let i = 0;
  return generateInterfaceName(service, (max) => (digest[i++ % digest.length] ?? 0) % max);
}

function setIf(
  params: Record<string, string>,
  key: string,
  value: string | number | boolean | undefined,
): void {
  if (value !== undefined) params[key] = String(value);
}

/** A KERNEL mechanism (cls LOCAL); a given name is validated. Usage: `kernelMechanism({ name: 'nsm-1' })`. */
export function kernelMechanism(params: KernelParameters = {}): Mechanism {
  if (params.name !== undefined) validateInterfaceName(params.name);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params))
    setIf(out, key, value as string | number | boolean | undefined);
  return newMechanism(MechanismType.KERNEL, MechanismClass.LOCAL, out);
}

/** Whether `m` is a KERNEL mechanism. */
export function isKernel(m: Mechanism | null | undefined): m is Mechanism {
  return m?.type === MechanismType.KERNEL;
}

function flag(value: string | undefined): boolean | undefined {
  return value === undefined ? undefined : value === 'true';
}

/**
 * The typed parameters of a KERNEL mechanism; throws INVALID_ARGUMENT for a bad name or VLAN id.
 * Usage: `const { name, inodeURL } = kernelParameters(conn.mechanism)`.
 */
export function kernelParameters(m: Mechanism): KernelParameters {
  const p = m.parameters;
  const out: KernelParameters = {};
  const strings = ['name', 'inodeURL', 'pciAddress', 'tokenID', 'IPTables4NatTemplate'] as const;
  for (const key of strings) {
    const value = p[key];
    if (value !== undefined) out[key] = value;
  }
  if (out.name !== undefined) validateInterfaceName(out.name);
  const supportsVlan = flag(p['supportsVlan']);
  if (supportsVlan !== undefined) out.supportsVlan = supportsVlan;
  const routeLocalNet = flag(p['routeLocalNet']);
  if (routeLocalNet !== undefined) out.routeLocalNet = routeLocalNet;
  const vlan = p['vlan'];
  if (vlan !== undefined) {
    if (!/^\d{1,4}$/.test(vlan) || Number(vlan) > 4094) {
      throw invalidArgument(`KERNEL parameter "vlan" is "${vlan}": expected a VLAN id 0..4094`);
    }
    out.vlan = Number(vlan);
  }
  return out;
}

/**
 * The interface name for `m`: its `name` parameter when given (validated), else a generated one that is
 * stored in `m` so refreshes keep it. Usage: `const ifName = kernelInterfaceName(mech, conn.network_service)`.
 */
export function kernelInterfaceName(m: Mechanism, service: string): string {
  const given = m.parameters['name'];
  if (given !== undefined && given !== '') {
    validateInterfaceName(given);
    return given;
  }
  const name = generateInterfaceName(service);
  m.parameters['name'] = name;
  return name;
}

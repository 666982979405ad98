/** What a pool hands out: a VF held by an owner, bound for one use. */
import type { PciSysfs } from './pci-sysfs.js';
import { bindDriver, waitForNetdev, waitForVfioGroup } from './rebind.js';
import { type PoolVf, type VfDriverKind, driverFor } from './select.js';
import { type VfioDevices, vfioDevicesOf } from './vfio.js';
import type { PollOptions } from './wait.js';

/** A VF held by an owner, ready for its use. */
export interface VfLease {
  readonly owner: string;
  /** The pool it came from; undefined for a VF adopted without a name. */
  readonly name: string | undefined;
  /** The token it was taken under; undefined for a VF adopted without a name. */
  readonly tokenId: string | undefined;
  readonly driver: VfDriverKind;
  /** The VF's PCI address. */
  readonly address: string;
  readonly pfAddress: string;
  /** N of the PF's `virtfnN` (what `ip link set <pf> vf N ...` takes). */
  readonly index: number;
  readonly iommuGroup: number;
  /** The PF's netdev (for MAC and VLAN settings through the PF). */
  readonly pfNetdev: string | undefined;
  /**
   * Kernel use: the VF's netdev as sysfs named it when the lease was made. Undefined for vfio, and
   * for an adopted VF whose netdev is not in this namespace (sysfs shows only this namespace's).
   */
  readonly netdev: string | undefined;
  /** VFIO use: the device nodes and their numbers; undefined for kernel. */
  readonly vfio: VfioDevices | undefined;
}

/** The pool's record of an owner's VF (the lease appears once the VF is bound). */
export interface Hold {
  readonly owner: string;
  readonly vf: PoolVf;
  readonly driver: VfDriverKind;
  readonly name: string | undefined;
  readonly tokenId: string | undefined;
  lease?: VfLease;
  pending?: Promise<VfLease>;
}

/** The lease of a bound hold; reads the VFIO nodes for vfio, the netdev (unless given) for kernel. */
export function leaseOf(hold: Hold, sysfs: PciSysfs, vfioDir: string, netdev: string | undefined): VfLease {
  const { vf, pf } = hold.vf;
  const kernel = hold.driver === 'kernel';
  const names = kernel && netdev === undefined ? sysfs.netdevsOf(vf.address) : [];
  return {
    owner: hold.owner,
    name: hold.name,
    tokenId: hold.tokenId,
    driver: hold.driver,
    address: vf.address,
    pfAddress: pf.address,
    index: vf.index,
    iommuGroup: vf.iommuGroup,
    pfNetdev: sysfs.netdevsOf(pf.address)[0],
    netdev: kernel ? (netdev ?? (names.length === 1 ? names[0] : undefined)) : undefined,
    vfio: kernel ? undefined : vfioDevicesOf(vfioDir, vf.iommuGroup),
  };
}

/** Whether a request asks for what a hold already is (an owner asking again, e.g. on refresh). */
export function matches(
  hold: Hold,
  request: { name?: string; tokenId?: string; driver: VfDriverKind },
): boolean {
  if (hold.driver !== request.driver) return false;
  if (request.tokenId !== undefined) return hold.tokenId === request.tokenId;
  return request.name !== undefined && request.name === hold.name;
}

/**
 * Readies a held VF for its use: every pool VF of its IOMMU group (`group`) bound to the driver
 * the use needs, then the VF's netdev (kernel) or the group's VFIO node (vfio) awaited.
 */
export async function prepareVf(
  hold: Hold,
  group: readonly PoolVf[],
  sysfs: PciSysfs,
  vfioDir: string,
  poll: PollOptions,
): Promise<VfLease> {
  // Queued behind other rebinds, the caller may have given up already: then touch nothing.
  poll.signal?.throwIfAborted();
  for (const vf of group) await bindDriver(sysfs, vf.vf.address, driverFor(vf, hold.driver), poll);
  if (hold.driver === 'kernel') {
    const netdev = await waitForNetdev(sysfs, hold.vf.vf.address, poll);
    return leaseOf(hold, sysfs, vfioDir, netdev);
  }
  await waitForVfioGroup(vfioDir, hold.vf.vf.iommuGroup, poll);
  return leaseOf(hold, sysfs, vfioDir, undefined);
}

/** Which free VF a request gets, and why none when there is none. */
import { Code, NsmError } from '@nsm-ts/sdk/core';
import { VFIO_PCI_DRIVER } from './pci-sysfs.js';
import type { SriovPf, SriovVf } from './sysfs.js';

/** The two ways a pod uses a VF: its kernel netdev, or the device through VFIO (DPDK). */
export type VfDriverKind = 'kernel' | 'vfio';

/** A VF as the pool keeps it. */
export interface PoolVf {
  readonly vf: SriovVf;
  readonly pf: SriovPf;
  /** The pool names its PF offers. */
  readonly names: readonly string[];
}

/** The driver a VF needs for a use: its PF's `vfKernelDriver`, or vfio-pci. */
export function driverFor(vf: PoolVf, driver: VfDriverKind): string {
  return driver === 'vfio' ? VFIO_PCI_DRIVER : vf.pf.config.vfKernelDriver;
}

/** What selection needs to know of the pool's state. */
export interface SelectionState {
  /** Who holds a VF (also while it is being bound), and for which driver. */
  holderOf(address: string): { readonly owner: string; readonly driver: VfDriverKind } | undefined;
  /** The pool's VFs in an IOMMU group. */
  vfsInGroup(group: number): readonly PoolVf[];
  /** Devices of an IOMMU group that are not VFs of the pool (a PF, another device). */
  outsidersInGroup(group: number): readonly string[];
  /** Whether every pool VF of the group is bound, now, to the driver `driver` asks for. */
  groupBoundTo(group: number, driver: VfDriverKind): boolean;
}

/**
 * Why a free VF cannot be given for `driver`, or undefined when it can: rebinding its IOMMU group
 * must not take a device from someone (a VF held for the other driver, or a device outside the pool).
 */
export function blockedBecause(vf: PoolVf, driver: VfDriverKind, state: SelectionState): string | undefined {
  const group = vf.vf.iommuGroup;
  for (const sibling of state.vfsInGroup(group)) {
    const holder = state.holderOf(sibling.vf.address);
    if (holder && holder.driver !== driver) {
      return `its IOMMU group ${group} has VF ${sibling.vf.address} held by ${holder.owner} for ${holder.driver}`;
    }
  }
  const outsiders = driver === 'vfio' ? state.outsidersInGroup(group) : [];
  if (outsiders.length > 0) {
    return `its IOMMU group ${group} also holds ${outsiders.join(', ')}, which vfio-pci would take from their drivers`;
  }
  return undefined;
}

/**
 * The best of the free, unblocked candidates, as upstream picks: a VF whose IOMMU group is already
 * bound to the wanted driver, then one of the PF with most free VFs, then the lowest PCI address.
 */
export function pickVf(
  candidates: readonly PoolVf[],
  driver: VfDriverKind,
  state: SelectionState,
): PoolVf | undefined {
  const freeOf = (pf: SriovPf) => pf.vfs.filter((vf) => !state.holderOf(vf.address)).length;
  const ranked = candidates.map((c) => ({
    c,
    bound: state.groupBoundTo(c.vf.iommuGroup, driver),
    free: freeOf(c.pf),
  }));
  ranked.sort(
    (a, b) =>
      Number(b.bound) - Number(a.bound) ||
      b.free - a.free ||
      (a.c.vf.address < b.c.vf.address ? -1 : a.c.vf.address > b.c.vf.address ? 1 : 0),
  );
  return ranked[0]?.c;
}

/** RESOURCE_EXHAUSTED for pool `name`: how many VFs it has, who holds them, why free ones cannot be had. */
export function exhausted(
  name: string,
  vfs: readonly PoolVf[],
  driver: VfDriverKind,
  state: SelectionState,
): NsmError {
  const held = vfs.flatMap((vf) => {
    const holder = state.holderOf(vf.vf.address);
    return holder ? [`${vf.vf.address} by ${holder.owner}`] : [];
  });
  const blocked = vfs.flatMap((vf) => {
    const reason = state.holderOf(vf.vf.address) ? undefined : blockedBecause(vf, driver, state);
    return reason ? [`${vf.vf.address} is free but ${reason}`] : [];
  });
  const parts = [
    `pool ${name} has no VF left for ${driver}: it has ${vfs.length} VF${vfs.length === 1 ? '' : 's'}`,
  ];
  if (held.length > 0) parts.push(`held: ${held.join(', ')}`);
  if (blocked.length > 0) parts.push(blocked.join('; '));
  return new NsmError(Code.RESOURCE_EXHAUSTED, parts.join('; '));
}

/** Pool names and token ids: one token per VF per `<serviceDomain>/<capability>` its PF offers. */
import { createHash } from 'node:crypto';

import type { PhysicalFunctionConfig } from './config.js';
import type { PoolVf } from './select.js';
import type { SriovInventory } from './sysfs.js';

/** UUIDv5 namespace of SR-IOV token ids (a constant, so ids survive restarts). */
const TOKEN_NAMESPACE = Buffer.from('3c9f6a1e5b7d4c2a8e0f1b2c3d4e5f60', 'hex');

/**
 * The pool names a PF offers: every `<serviceDomain>/<capability>`, as upstream names resources.
 * Usage: `poolNamesOf(pf)` → `['worker.domain/intel', 'worker.domain/10G']`.
 */
export function poolNamesOf(pf: Pick<PhysicalFunctionConfig, 'serviceDomains' | 'capabilities'>): string[] {
  return pf.serviceDomains.flatMap((domain) =>
    pf.capabilities.map((capability) => `${domain}/${capability}`),
  );
}

/**
 * The id of the token of pool `name` for one VF: a UUIDv5 of both, so the same on every start and
 * unique per (name, VF). Usage: `sriovTokenId('worker.domain/10G', '0000:01:00.1')`.
 */
export function sriovTokenId(name: string, vfAddress: string): string {
  const hash = createHash('sha1')
    .update(TOKEN_NAMESPACE)
    .update(`${name}\0${vfAddress}`)
    .digest()
    .subarray(0, 16);
  hash.writeUInt8((hash.readUInt8(6) & 0x0f) | 0x50, 6);
  hash.writeUInt8((hash.readUInt8(8) & 0x3f) | 0x80, 8);
  const hex = hash.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A token as the pool indexes it. */
export interface PoolToken {
  readonly name: string;
  readonly vf: PoolVf;
}

/** The pool's view of an inventory: its names, its VFs by address and by IOMMU group, its tokens by id. */
export interface InventoryIndex {
  /** Sorted. */
  readonly names: readonly string[];
  readonly vfs: ReadonlyMap<string, PoolVf>;
  readonly groups: ReadonlyMap<number, readonly PoolVf[]>;
  readonly tokens: ReadonlyMap<string, PoolToken>;
}

/** Indexes the VFs of an inventory and mints their tokens. */
export function indexInventory(inventory: SriovInventory): InventoryIndex {
  const names = new Set<string>();
  const vfs = new Map<string, PoolVf>();
  const groups = new Map<number, PoolVf[]>();
  const tokens = new Map<string, PoolToken>();
  for (const pf of inventory.pfs) {
    const pfNames = poolNamesOf(pf.config);
    for (const vf of pf.vfs) {
      const entry = { vf, pf, names: pfNames };
      vfs.set(vf.address, entry);
      groups.set(vf.iommuGroup, [...(groups.get(vf.iommuGroup) ?? []), entry]);
      for (const name of pfNames) tokens.set(sriovTokenId(name, vf.address), { name, vf: entry });
    }
    for (const name of pfNames) names.add(name);
  }
  return { names: [...names].sort(), vfs, groups, tokens };
}

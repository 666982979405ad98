/**
 * SR-IOV resources: the config file (`NSM_SRIOV_CONFIG_FILE`), discovery of PFs and VFs in sysfs,
 * and the token pool that hands VFs out bound for kernel or VFIO use.
 */
export * from './config.js';
export * from './pci-address.js';
export * from './pci-sysfs.js';
export * from './sysfs.js';
export type { VfLease } from './lease.js';
export {
  type AcquireRequest,
  type SriovPoolOptions,
  type SriovToken,
  SriovPool,
  createSriovPool,
  openSriovPool,
} from './pool.js';
export type { VfDriverKind } from './select.js';
export { poolNamesOf, sriovTokenId } from './tokens.js';
export * from './vfio.js';

/** SR-IOV resources: the config file, discovery of PFs and VFs in sysfs, the token pool that hands VFs out. */
export * from './config.js';
export * from './pci-address.js';
export * from './pci-sysfs.js';
export * from './sysfs.js';
export * from './lease.js';
export * from './pool.js';
export { type VfDriverKind } from './select.js';
export * from './tokens.js';
export * from './vfio.js';

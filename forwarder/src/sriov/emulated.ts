/**
 * Emulated SR-IOV hardware, for the lab's nodes and for tests: a sysfs tree of PFs, VFs, IOMMU
 * groups and drivers whose bind and unbind an emulated kernel honours, real macvlans on a veth "PF"
 * standing in for the VF netdevs, and mknod'ed VFIO nodes. No product code path uses it: the
 * forwarder reads whatever sysfs root it is given (NSM_SYSFS_ROOT).
 */
export {
  createFakeSriov as createEmulatedSriov,
  emulatedVfAddress,
  type FakePfOptions as EmulatedPfOptions,
  type FakeSriov as EmulatedSriov,
} from './testing/fake-sriov.js';

/**
 * The PCI part of sysfs under an injectable root: what a device is bound to, its netdevs, its
 * IOMMU group, and the writes that rebind it. The kernel's files, read and written as files, so
 * the same code runs on `/sys` and on an emulated tree.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** The sysfs root of the host. The daemon takes another from `NSM_SYSFS_ROOT`. */
export const DEFAULT_SYSFS_ROOT = '/sys';

/** The driver VFs are bound to for VFIO (DPDK in the pod). */
export const VFIO_PCI_DRIVER = 'vfio-pci';

/**
 * Reads and writes `<root>/bus/pci` and `<root>/kernel/iommu_groups`.
 * Usage: `new PciSysfs(process.env['NSM_SYSFS_ROOT'] ?? '/sys').driverOf('0000:01:00.1')` → `'iavf'`.
 */
export class PciSysfs {
  /** `<root>/bus/pci/devices`: one entry per PCI address. */
  readonly devicesDir: string;
  /** `<root>/bus/pci/drivers`: one directory per loaded PCI driver. */
  readonly driversDir: string;

  constructor(readonly root: string = DEFAULT_SYSFS_ROOT) {
    this.devicesDir = join(root, 'bus', 'pci', 'devices');
    this.driversDir = join(root, 'bus', 'pci', 'drivers');
  }

  /** `<root>/bus/pci/devices/<address>/<parts...>`. */
  devicePath(address: string, ...parts: string[]): string {
    return join(this.devicesDir, address, ...parts);
  }

  /** Whether a PCI device with this address exists. */
  hasDevice(address: string): boolean {
    return existsSync(this.devicePath(address));
  }

  /** Whether a driver with this name is loaded (`<root>/bus/pci/drivers/<name>` exists). */
  hasDriver(name: string): boolean {
    return existsSync(join(this.driversDir, name));
  }

  /** The driver the device is bound to (basename of its `driver` link), or undefined when unbound. */
  driverOf(address: string): string | undefined {
    return linkName(this.devicePath(address, 'driver'));
  }

  /** The netdevs the device has (`net/*`): none unless it is bound to a network driver. */
  netdevsOf(address: string): string[] {
    return list(this.devicePath(address, 'net'));
  }

  /** The device's IOMMU group (basename of its `iommu_group` link), or undefined without an IOMMU. */
  iommuGroupOf(address: string): number | undefined {
    const name = linkName(this.devicePath(address, 'iommu_group'));
    return name !== undefined && /^\d+$/.test(name) ? Number(name) : undefined;
  }

  /** Addresses of every device in an IOMMU group (`<root>/kernel/iommu_groups/<group>/devices`). */
  groupMembers(group: number): string[] {
    return list(join(this.root, 'kernel', 'iommu_groups', String(group), 'devices')).sort();
  }

  /** A PF's VFs from its `virtfnN` links, by index. */
  virtfnsOf(pf: string): { index: number; address: string }[] {
    return list(this.devicePath(pf))
      .filter((name) => /^virtfn\d+$/.test(name))
      .map((name) => ({
        index: Number(name.slice('virtfn'.length)),
        address: linkName(this.devicePath(pf, name)),
      }))
      .filter((vf): vf is { index: number; address: string } => vf.address !== undefined)
      .sort((a, b) => a.index - b.index);
  }

  /** The PF of a VF (its `physfn` link), or undefined for any other device. */
  physfnOf(address: string): string | undefined {
    return linkName(this.devicePath(address, 'physfn'));
  }

  /** A decimal number in a device file (`sriov_numvfs`, `sriov_totalvfs`), or undefined without one. */
  countOf(address: string, file: string): number | undefined {
    try {
      const text = readFileSync(this.devicePath(address, file), 'utf8').trim();
      return /^\d+$/.test(text) ? Number(text) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Asks the device's current driver to let go of it (`driver/unbind`). */
  unbind(address: string): void {
    writeFileSync(this.devicePath(address, 'driver', 'unbind'), address);
  }

  /** Makes only `driver` match the device from now on (`driver_override`). */
  setDriverOverride(address: string, driver: string): void {
    writeFileSync(this.devicePath(address, 'driver_override'), driver);
  }

  /** Asks `driver` to take the device (`drivers/<driver>/bind`). */
  bind(address: string, driver: string): void {
    writeFileSync(join(this.driversDir, driver, 'bind'), address);
  }
}

/** The basename of a symbolic link's target, or undefined when there is no link. */
function linkName(path: string): string | undefined {
  try {
    return basename(readlinkSync(path));
  } catch {
    return undefined;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

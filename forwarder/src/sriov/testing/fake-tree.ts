/**
 * The emulated sysfs tree: PCI devices, driver directories, IOMMU groups, laid out as the kernel
 * lays out `/sys` (devices under `devices/`, links in `bus/pci/` and `kernel/iommu_groups/`).
 */
import {
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

import { parsePciAddress } from '../pci-address.js';

/** A PCI device of the emulation. */
export interface FakeDevice {
  readonly address: string;
  /** The PF's address for a VF, its own for a PF. */
  readonly pfAddress: string;
  /** N of `virtfnN` for a VF; undefined for a PF. */
  readonly index: number | undefined;
  readonly iommuGroup: number;
}

/** What `driver_override` reads when unset. */
const NO_OVERRIDE = '(null)\n';

/** Creates and edits the files of the tree; holds no state the files do not show but the device list. */
export class FakeTree {
  readonly devices = new Map<string, FakeDevice>();
  readonly drivers = new Set<string>();

  constructor(readonly root: string) {}

  /** The real directory of a device: `<root>/devices/pci<domain>:<bus>/<address>`. */
  deviceDir(address: string): string {
    const bus = address.slice(0, 7);
    return join(this.root, 'devices', `pci${bus}`, address);
  }

  /** `<root>/bus/pci/drivers/<driver>`. */
  driverDir(driver: string): string {
    return join(this.root, 'bus', 'pci', 'drivers', driver);
  }

  /** `<root>/kernel/iommu_groups/<group>`. */
  groupDir(group: number): string {
    return join(this.root, 'kernel', 'iommu_groups', String(group));
  }

  /** A driver directory with its `bind` and `unbind` files. */
  addDriver(driver: string): void {
    if (this.drivers.has(driver)) return;
    mkdirSync(this.driverDir(driver), { recursive: true });
    for (const file of ['bind', 'unbind']) writeFileSync(join(this.driverDir(driver), file), '');
    this.drivers.add(driver);
  }

  /** A device directory, its `bus/pci/devices` link, and its IOMMU group membership. */
  addDevice(device: FakeDevice): void {
    if (!parsePciAddress(device.address))
      throw new Error(`fake SR-IOV: ${device.address} is not a PCI address`);
    const dir = this.deviceDir(device.address);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'driver_override'), NO_OVERRIDE);
    mkdirSync(join(this.root, 'bus', 'pci', 'devices'), { recursive: true });
    link(join(this.root, 'bus', 'pci', 'devices', device.address), dir);
    mkdirSync(join(this.groupDir(device.iommuGroup), 'devices'), { recursive: true });
    link(join(this.groupDir(device.iommuGroup), 'devices', device.address), dir);
    link(join(dir, 'iommu_group'), this.groupDir(device.iommuGroup));
    this.devices.set(device.address, device);
  }

  /** Makes `address` a VF of `pf`: `virtfnN` and `physfn` links. */
  linkVf(pf: string, index: number, address: string): void {
    link(join(this.deviceDir(pf), `virtfn${index}`), this.deviceDir(address));
    link(join(this.deviceDir(address), 'physfn'), this.deviceDir(pf));
  }

  /** Writes a device attribute (`sriov_numvfs`, ...). */
  writeAttribute(address: string, file: string, value: string): void {
    writeFileSync(join(this.deviceDir(address), file), `${value}\n`);
  }

  /** The driver of a device as its `driver` link says. */
  driverOf(address: string): string | undefined {
    try {
      return basename(readlinkSync(join(this.deviceDir(address), 'driver')));
    } catch {
      return undefined;
    }
  }

  /** `driver_override`, undefined when unset. */
  overrideOf(address: string): string | undefined {
    const text = readFileSync(join(this.deviceDir(address), 'driver_override'), 'utf8').trim();
    return text === '' || text === '(null)' ? undefined : text;
  }

  /** Binds: the device's `driver` link and the driver's link to the device. */
  linkDriver(address: string, driver: string): void {
    link(join(this.deviceDir(address), 'driver'), this.driverDir(driver));
    link(join(this.driverDir(driver), address), this.deviceDir(address));
  }

  /** Unbinds: removes both links. */
  unlinkDriver(address: string, driver: string): void {
    unlinkSync(join(this.deviceDir(address), 'driver'));
    rmSync(join(this.driverDir(driver), address), { force: true });
  }

  /** The device's netdev entry, `net/<name>/`, holding `ifindex` when one is known. */
  addNet(address: string, name: string, ifindex?: number): void {
    const dir = join(this.deviceDir(address), 'net', name);
    mkdirSync(dir, { recursive: true });
    if (ifindex !== undefined) writeFileSync(join(dir, 'ifindex'), `${ifindex}\n`);
  }

  /** Removes the `net/` entries. */
  removeNet(address: string): void {
    rmSync(join(this.deviceDir(address), 'net'), { recursive: true, force: true });
  }

  /** Takes what was written to a driver's `bind` or `unbind` since the last call: one address a word. */
  takeWrites(driver: string, file: 'bind' | 'unbind'): string[] {
    const path = join(this.driverDir(driver), file);
    const text = readFileSync(path, 'utf8');
    if (text === '') return [];
    writeFileSync(path, '');
    return text.split(/\s+/).filter((word) => word !== '');
  }

  /** Removes the tree (not the root when it was there before). */
  remove(): void {
    for (const top of ['bus', 'devices', 'kernel'])
      rmSync(join(this.root, top), { recursive: true, force: true });
  }
}

/** A relative symbolic link, as sysfs has them, so the tree can be moved. */
function link(path: string, target: string): void {
  symlinkSync(relative(dirname(path), target), path);
}

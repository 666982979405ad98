/**
 * What the kernel does when `bind` and `unbind` are written, acted out on the emulated tree:
 * driver links, netdevs (real stand-ins) for network drivers, VFIO group device nodes for vfio-pci.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { VFIO_PCI_DRIVER } from '../pci-sysfs.js';
import type { FakeTree } from './fake-tree.js';
import { type StandInMark, createStandIn, deleteStandIn, findStandIn, ip } from './stand-ins.js';

/** Device numbers the emulation gives `/dev/vfio/vfio` (the misc device, as the kernel) and group nodes (major; minor = group). */
export const FAKE_VFIO_NUMBERS = { vfio: { major: 10, minor: 196 }, groupMajor: 240 } as const;

/** A port (PF) of the emulation, as the kernel part needs it. */
export interface FakePort {
  readonly address: string;
  readonly driver: string;
  readonly vfDriver: string;
  /** The PF's netdev name; with `netns`, a real veth end in that namespace. */
  readonly netdev: string;
  readonly netns: string | undefined;
  /** Distinguishes the ports of one emulation in stand-in MACs. */
  readonly ordinal: number;
}

/** A live VF stand-in. */
interface StandIn {
  readonly netns: string;
  readonly name: string;
  readonly mark: StandInMark;
}

/** Acts on writes to `bind`/`unbind`; records what it did and refused in `dmesg`. */
export class FakeKernel {
  readonly dmesg: string[] = [];
  readonly errors: string[] = [];
  private readonly standIns = new Map<string, StandIn>();

  constructor(
    private readonly tree: FakeTree,
    private readonly ports: ReadonlyMap<string, FakePort>,
    private readonly vfioDir: string,
    /** Hex, unique per emulation: in stand-in aliases and MACs. */
    private readonly id: string,
  ) {}

  /** Handles every write since the last tick: unbinds first, then binds, as they were written. */
  tick(): void {
    for (const driver of this.tree.drivers) {
      for (const address of this.tree.takeWrites(driver, 'unbind')) this.unbindWrite(driver, address);
    }
    for (const driver of this.tree.drivers) {
      for (const address of this.tree.takeWrites(driver, 'bind')) this.bindWrite(driver, address);
    }
  }

  private unbindWrite(driver: string, address: string): void {
    const bound = this.tree.devices.has(address) ? this.tree.driverOf(address) : undefined;
    if (bound !== driver) {
      this.log(`${driver}: unbind ${address}: not bound to ${driver} (ENODEV)`);
      return;
    }
    this.detach(address);
  }

  private bindWrite(driver: string, address: string): void {
    if (!this.tree.devices.has(address))
      return this.log(`${driver}: bind ${address}: no such device (ENODEV)`);
    const bound = this.tree.driverOf(address);
    if (bound !== undefined) return this.log(`${driver}: bind ${address}: already bound to ${bound} (EBUSY)`);
    const override = this.tree.overrideOf(address);
    if (override !== undefined && override !== driver) {
      return this.log(`${driver}: bind ${address}: driver_override is ${override} (ENODEV)`);
    }
    this.attach(address, driver);
  }

  /** Binds a device to a driver as a successful probe would: effects first, the link when they worked. */
  attach(address: string, driver: string): void {
    const device = this.tree.devices.get(address);
    const port = device && this.ports.get(device.pfAddress);
    if (!device || !port) throw new Error(`fake SR-IOV: no device ${address}`);
    try {
      if (driver === VFIO_PCI_DRIVER) this.makeVfioNodes(device.iommuGroup);
      else if (this.isNetDriver(driver)) this.addNetdev(address, port, device.index);
    } catch (err) {
      this.errors.push(`${driver}: probe of ${address} failed: ${String(err)}`);
      return this.log(`${driver}: probe of ${address} failed`);
    }
    this.tree.linkDriver(address, driver);
    this.log(`${driver}: bound ${address}`);
  }

  /** Unbinds a device: its netdev goes (the stand-in is deleted wherever it is), and its VFIO group node when no device of the group is left on vfio-pci. */
  detach(address: string): void {
    const device = this.tree.devices.get(address);
    const driver = this.tree.driverOf(address);
    if (!device || driver === undefined) return;
    const standIn = this.standIns.get(address);
    if (standIn) {
      this.standIns.delete(address);
      if (!deleteStandIn(standIn.netns, standIn.mark))
        this.log(`${address}: stand-in ${standIn.name} was already gone`);
    }
    this.tree.removeNet(address);
    this.tree.unlinkDriver(address, driver);
    if (driver === VFIO_PCI_DRIVER && !this.groupUsesVfio(device.iommuGroup)) {
      rmSync(join(this.vfioDir, String(device.iommuGroup)), { force: true });
    }
    this.log(`${driver}: unbound ${address}`);
  }

  /**
   * The live stand-ins that are not in their node under the name they were made with: each as
   * `<name> (<what is wrong>)`. Found by their MAC, which a move and a rename keep.
   */
  misplaced(): string[] {
    const out: string[] = [];
    for (const standIn of this.standIns.values()) {
      const here = findStandIn(standIn.netns, standIn.mark);
      if (!here) out.push(`${standIn.name} (not in ${standIn.netns})`);
      else if (here.ifname !== standIn.name) out.push(`${standIn.name} (named ${here.ifname})`);
    }
    return out;
  }

  /** How many stand-ins are alive. */
  get standInCount(): number {
    return this.standIns.size;
  }

  /** Deletes the stand-ins still alive (wherever they were moved). */
  close(): void {
    for (const [address, standIn] of this.standIns) {
      this.standIns.delete(address);
      deleteStandIn(standIn.netns, standIn.mark);
    }
  }

  private isNetDriver(driver: string): boolean {
    return [...this.ports.values()].some((port) => port.driver === driver || port.vfDriver === driver);
  }

  private addNetdev(address: string, port: FakePort, index: number | undefined): void {
    if (index === undefined) return this.tree.addNet(address, port.netdev);
    const name = `${port.netdev}v${index}`;
    if (port.netns === undefined) return this.tree.addNet(address, name);
    const mark = {
      alias: `nsm-fake-sriov:${this.id}:${address}`,
      mac: standInMac(this.id, port.ordinal, index),
    };
    createStandIn(port.netns, port.netdev, name, mark);
    this.standIns.set(address, { netns: port.netns, name, mark });
    const [shown] = JSON.parse(ip(port.netns, '-j', 'link', 'show', 'dev', name)) as { ifindex: number }[];
    this.tree.addNet(address, name, shown?.ifindex);
  }

  private makeVfioNodes(group: number): void {
    mkdirSync(this.vfioDir, { recursive: true });
    const { vfio, groupMajor } = FAKE_VFIO_NUMBERS;
    mknod(join(this.vfioDir, 'vfio'), vfio.major, vfio.minor);
    mknod(join(this.vfioDir, String(group)), groupMajor, group);
  }

  private groupUsesVfio(group: number): boolean {
    return [...this.tree.devices.values()].some(
      (d) => d.iommuGroup === group && this.tree.driverOf(d.address) === VFIO_PCI_DRIVER,
    );
  }

  private log(line: string): void {
    this.dmesg.push(line);
  }
}

/** A locally administered MAC naming the emulation, the port and the VF. */
function standInMac(id: string, ordinal: number, index: number): string {
  const bytes = [0x02, ...(id.match(/../g) ?? []).slice(0, 3).map((h) => parseInt(h, 16)), ordinal, index];
  return bytes.map((b) => (b & 0xff).toString(16).padStart(2, '0')).join(':');
}

function mknod(path: string, major: number, minor: number): void {
  if (existsSync(path)) return;
  execFileSync('mknod', ['-m', '0666', path, 'c', String(major), String(minor)], { stdio: 'pipe' });
}

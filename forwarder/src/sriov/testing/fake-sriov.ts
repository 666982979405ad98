/**
 * Emulated SR-IOV hardware for tests and the lab: a sysfs tree with PFs, VFs, IOMMU groups and
 * drivers, and a watcher that honours `bind`/`unbind` writes like the kernel. No vitest in here.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { invalidArgument } from '@nsm-ts/sdk/core';
import { VFIO_PCI_DRIVER } from '../pci-sysfs.js';
import { formatPciAddress, parsePciAddress } from '../pci-address.js';
import { FakeKernel, type FakePort } from './fake-kernel.js';
import { FakeTree } from './fake-tree.js';
import { cablePort, createPortLink, deleteLink } from './stand-ins.js';

/** One emulated NIC port. */
export interface FakePfOptions {
  /** PCI address of the PF; its VFs follow it (`0000:01:00.0` → `0000:01:00.1`, ...). */
  readonly address: string;
  /** The PF's driver (a network driver: binding gives `net/<netdev.name>`). */
  readonly driver: string;
  /** Its VFs' network driver; binding a VF to it gives `net/<netdev.name>v<index>`. */
  readonly vfDriver: string;
  /**
   * The PF's netdev. With `netns` (an `ip netns` name) it is a real veth end made in that
   * namespace, and each VF bound to a network driver gets a real macvlan on it (needs root);
   * without, the names exist only in sysfs.
   */
  readonly netdev: {
    readonly name: string;
    readonly netns?: string;
    /**
     * The PF's cable: with `netns`, the veth's other end goes into this namespace (an `ip netns`
     * name), enslaved to `bridge` there, so VFs of PFs cabled to the same bridge reach each other.
     * Without, that end stays beside the PF.
     */
    readonly uplink?: { readonly netns: string; readonly bridge: string };
  };
  /** `sriov_numvfs`: how many VFs exist. */
  readonly vfs: number;
  /** `sriov_totalvfs`; max(vfs, 8) by default. */
  readonly totalVfs?: number;
  /**
   * An IOMMU group per VF (default), one group shared by all VFs of this PF, or the PF's own group
   * for all of them (hardware without ACS).
   */
  readonly groups?: 'one-per-vf' | 'shared' | 'with-pf';
  /** Whether VFs start bound to `vfDriver` (default, as after setting `sriov_numvfs`) or to no driver. */
  readonly vfsBound?: boolean;
}

/** What {@link createFakeSriov} builds. */
export interface FakeSriovOptions {
  /** The sysfs root to build in (created; must be empty when it exists). A temporary directory by default. */
  readonly root?: string;
  /** Stands for `/dev/vfio`. A temporary directory by default. */
  readonly vfioDir?: string;
  readonly pfs: readonly FakePfOptions[];
  /** How often the watcher looks at `bind`/`unbind` (ms, default 5). */
  readonly pollMs?: number;
}

/** A VF of the emulation. */
export interface FakeVf {
  readonly address: string;
  readonly index: number;
  readonly iommuGroup: number;
}

/** A PF of the emulation. */
export interface FakePf {
  readonly address: string;
  readonly driver: string;
  readonly vfDriver: string;
  readonly netdev: string;
  readonly netns: string | undefined;
  readonly iommuGroup: number;
  readonly vfs: readonly FakeVf[];
}

/** Running emulated hardware. */
export interface FakeSriov {
  /** Pass as the sysfs root (`NSM_SYSFS_ROOT`). */
  readonly root: string;
  readonly vfioDir: string;
  readonly pfs: readonly FakePf[];
  /** What the emulated kernel did and refused, oldest first (a refused write fails silently here, where the kernel would fail the write). */
  readonly dmesg: readonly string[];
  /** Failures of the emulation itself (an `ip` or `mknod` that failed); empty when all is well. */
  readonly errors: readonly string[];
  /** The current driver of a device (its `driver` link). */
  driverOf(address: string): string | undefined;
  /** Rebinds a device at once, without `driver_override` checks (to set a scene); undefined unbinds. */
  setDriver(address: string, driver: string | undefined): void;
  /**
   * Where the VF stand-ins are: how many there are, and those not in their node under their
   * original name (`<name> (<what is wrong>)`). Empty `misplaced` means every VF was given back.
   */
  standIns(): { count: number; misplaced: string[] };
  /** Stops the watcher, deletes the stand-ins (wherever they were moved) and PF veths, removes the tree. */
  close(): void;
}

/**
 * Builds emulated SR-IOV hardware and starts its watcher.
 * Usage: `const hw = createFakeSriov({ pfs: [{ address: '0000:01:00.0', driver: 'i40e', vfDriver: 'iavf', netdev: { name: 'ens1f0', netns: ns.name }, vfs: 2 }] }); fx.defer(() => hw.close());`
 */
export function createFakeSriov(options: FakeSriovOptions): FakeSriov {
  const id = randomBytes(3).toString('hex');
  const dirs: (() => void)[] = [];
  const root = prepareDir(options.root, 'nsm-fake-sysfs-', dirs);
  const vfioDir = prepareDir(options.vfioDir, 'nsm-fake-vfio-', dirs);
  const tree = new FakeTree(root);
  const ports = new Map<string, FakePort>();
  const kernel = new FakeKernel(tree, ports, vfioDir, id);
  const portLinks: { netns: string; name: string }[] = [];
  const watcher: { timer?: NodeJS.Timeout } = {};
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(watcher.timer);
    const steps = [
      () => kernel.close(),
      ...portLinks.map((l) => () => void deleteLink(l.netns, l.name)),
      () => tree.remove(),
      ...dirs.reverse(),
    ];
    const errors = steps.flatMap((step) => {
      try {
        step();
        return [];
      } catch (err) {
        return [err];
      }
    });
    if (errors.length > 0) throw new AggregateError(errors, 'fake SR-IOV: cleanup failed');
  };
  const pfs: FakePf[] = [];
  try {
    tree.addDriver(VFIO_PCI_DRIVER);
    const groups = { next: 1 };
    for (const [ordinal, pf] of options.pfs.entries()) {
      const built = buildPf(tree, pf, groups);
      pfs.push(built);
      ports.set(pf.address, { ...pf, netdev: pf.netdev.name, netns: pf.netdev.netns, ordinal });
      if (pf.netdev.netns !== undefined) {
        createPortLink(
          pf.netdev.netns,
          pf.netdev.name,
          `fk${id}${ordinal}`,
          `nsm-fake-sriov:${id}:${pf.address}`,
        );
        portLinks.push({ netns: pf.netdev.netns, name: pf.netdev.name });
        if (pf.netdev.uplink) cablePort(pf.netdev.netns, `fk${id}${ordinal}`, pf.netdev.uplink);
      }
      kernel.attach(pf.address, pf.driver);
      if (pf.vfsBound ?? true) for (const vf of built.vfs) kernel.attach(vf.address, pf.vfDriver);
    }
  } catch (err) {
    close();
    throw err;
  }
  watcher.timer = setInterval(() => {
    try {
      kernel.tick();
    } catch (err) {
      kernel.errors.push(`watcher: ${String(err)}`);
    }
  }, options.pollMs ?? 5);
  return {
    root,
    vfioDir,
    pfs,
    dmesg: kernel.dmesg,
    errors: kernel.errors,
    driverOf: (address) => tree.driverOf(address),
    standIns: () => ({ count: kernel.standInCount, misplaced: kernel.misplaced() }),
    setDriver(address, driver) {
      kernel.detach(address);
      if (driver !== undefined) kernel.attach(address, driver);
    },
    close,
  };
}

/** Lays out one PF and its VFs; validates the options on the way. */
function buildPf(tree: FakeTree, pf: FakePfOptions, groups: { next: number }): FakePf {
  const parts = parsePciAddress(pf.address);
  if (!parts)
    throw invalidArgument(`fake SR-IOV: PF address "${pf.address}" is not a PCI address dddd:bb:dd.f`);
  const totalVfs = pf.totalVfs ?? Math.max(pf.vfs, 8);
  if (!Number.isInteger(pf.vfs) || pf.vfs < 0 || pf.vfs > totalVfs) {
    throw invalidArgument(
      `fake SR-IOV: PF ${pf.address} has vfs ${pf.vfs}, expected 0 to totalVfs (${totalVfs})`,
    );
  }
  if (pf.netdev.name.length + `v${totalVfs}`.length > 15) {
    throw invalidArgument(
      `fake SR-IOV: netdev name "${pf.netdev.name}" is too long for VF names <name>v<index> (15 bytes)`,
    );
  }
  for (const driver of [pf.driver, pf.vfDriver]) tree.addDriver(driver);
  const pfGroup = groups.next++;
  tree.addDevice({ address: pf.address, pfAddress: pf.address, index: undefined, iommuGroup: pfGroup });
  tree.writeAttribute(pf.address, 'sriov_totalvfs', String(totalVfs));
  tree.writeAttribute(pf.address, 'sriov_numvfs', String(pf.vfs));
  const shared = pf.groups === 'shared' ? groups.next++ : pf.groups === 'with-pf' ? pfGroup : undefined;
  const vfs: FakeVf[] = [];
  for (let index = 0; index < pf.vfs; index++) {
    const address = vfAddress(pf.address, parts, index);
    if (tree.devices.has(address)) {
      throw invalidArgument(
        `fake SR-IOV: VF ${index} of PF ${pf.address} would be ${address}, which exists: put PFs on other buses`,
      );
    }
    const iommuGroup = shared ?? groups.next++;
    tree.addDevice({ address, pfAddress: pf.address, index, iommuGroup });
    tree.linkVf(pf.address, index, address);
    vfs.push({ address, index, iommuGroup });
  }
  return {
    address: pf.address,
    driver: pf.driver,
    vfDriver: pf.vfDriver,
    netdev: pf.netdev.name,
    netns: pf.netdev.netns,
    iommuGroup: pfGroup,
    vfs,
  };
}

/** The address the emulation gives VF `index` of PF `pf`: the functions after the PF's, on its bus. */
export function emulatedVfAddress(pf: string, index: number): string {
  const parts = parsePciAddress(pf);
  if (!parts) throw invalidArgument(`fake SR-IOV: "${pf}" is not a PCI address`);
  return vfAddress(pf, parts, index);
}

function vfAddress(
  pf: string,
  parts: NonNullable<ReturnType<typeof parsePciAddress>>,
  index: number,
): string {
  const linear = parts.device * 8 + parts.fn + 1 + index;
  if (linear > 0x1f * 8 + 7) throw invalidArgument(`fake SR-IOV: too many VFs for PF ${pf} on its bus`);
  return formatPciAddress({ ...parts, device: Math.floor(linear / 8), fn: linear % 8 });
}

/** A fresh temporary directory, or the given one (created; refused when not empty). */
function prepareDir(dir: string | undefined, prefix: string, cleanups: (() => void)[]): string {
  if (dir === undefined) {
    const made = mkdtempSync(join(tmpdir(), prefix));
    cleanups.push(() => rmSync(made, { recursive: true, force: true }));
    return made;
  }
  if (existsSync(dir)) {
    if (readdirSync(dir).length > 0)
      throw invalidArgument(`fake SR-IOV: ${dir} is not empty, expected an empty or new directory`);
    cleanups.push(() => {
      for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
    });
  } else {
    mkdirSync(dir, { recursive: true });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  }
  return dir;
}

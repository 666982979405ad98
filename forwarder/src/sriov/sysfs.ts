/**
 * Discovery: the configured PFs and their VFs as sysfs has them, checked against the config.
 * Every mismatch is collected, so an operator fixes a node in one round.
 */
import { Code, NsmError } from '@nsm-ts/sdk/core';
import type { PhysicalFunctionConfig, SriovConfig } from './config.js';
import { PciSysfs } from './pci-sysfs.js';

/** A VF as discovery found it. Drivers change later; the pool reads them again from sysfs. */
export interface SriovVf {
  /** PCI address: `0000:01:00.1`. */
  readonly address: string;
  readonly pfAddress: string;
  /** N of the PF's `virtfnN` link. */
  readonly index: number;
  /** Basename of the VF's `iommu_group` link. */
  readonly iommuGroup: number;
  /** The driver bound at discovery, undefined when none. */
  readonly driver: string | undefined;
  /** Its netdev (`net/<ifname>`) at discovery, undefined unless bound to a network driver. */
  readonly netdev: string | undefined;
}

/** A configured PF with its VFs. */
export interface SriovPf {
  readonly address: string;
  readonly config: PhysicalFunctionConfig;
  /** Its netdevs (`net/*`), usually one. */
  readonly netdevs: readonly string[];
  readonly totalVfs: number;
  /** By index. */
  readonly vfs: readonly SriovVf[];
}

/** What {@link discoverSriov} found: every configured PF, valid. */
export interface SriovInventory {
  /** The config's source, for messages. */
  readonly source: string;
  readonly sysfs: PciSysfs;
  readonly pfs: readonly SriovPf[];
  /** Every device the kernel lists in the IOMMU group of some VF, by group. */
  readonly iommuGroups: ReadonlyMap<number, readonly string[]>;
}

/** The config does not match the host: FAILED_PRECONDITION with one line per problem. */
export class SriovSetupError extends NsmError {
  constructor(
    readonly source: string,
    readonly root: string,
    readonly problems: readonly string[],
  ) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(
      Code.FAILED_PRECONDITION,
      `SR-IOV config ${source} does not match ${root} (${count}):\n  - ${problems.join('\n  - ')}`,
    );
  }
}

/** Where to look. */
export interface DiscoverOptions {
  /** The sysfs root, `/sys` by default (the daemon reads `NSM_SYSFS_ROOT`). */
  readonly root?: string;
}

/**
 * Finds every configured PF and its VFs under the sysfs root and checks them: the PF exists, is
 * bound to `pfKernelDriver`, has VFs (`sriov_numvfs` > 0 and `virtfnN` links), `vfKernelDriver` is
 * loaded, VFs have IOMMU groups, no two PFs share a netdev or a VF, and listed `virtualFunctions`
 * match. Throws one {@link SriovSetupError} listing every problem.
 * Usage: `const inventory = discoverSriov(readSriovConfigFile(file), { root: process.env['NSM_SYSFS_ROOT'] })`.
 */
export function discoverSriov(config: SriovConfig, options: DiscoverOptions = {}): SriovInventory {
  const sysfs = new PciSysfs(options.root);
  const problems: string[] = [];
  const pfs = config.physicalFunctions.flatMap((pf) => discoverPf(sysfs, pf, config.source, problems) ?? []);
  checkShared(pfs, 'netdev', (pf) => pf.netdevs, problems);
  checkShared(pfs, 'VF', (pf) => pf.vfs.map((vf) => vf.address), problems);
  if (problems.length > 0) throw new SriovSetupError(config.source, sysfs.root, problems);
  const iommuGroups = new Map<number, readonly string[]>();
  for (const vf of pfs.flatMap((pf) => pf.vfs)) {
    if (!iommuGroups.has(vf.iommuGroup)) iommuGroups.set(vf.iommuGroup, sysfs.groupMembers(vf.iommuGroup));
  }
  return { source: config.source, sysfs, pfs, iommuGroups };
}

function discoverPf(sysfs: PciSysfs, config: PhysicalFunctionConfig, source: string, problems: string[]) {
  const { address } = config;
  if (!sysfs.hasDevice(address)) {
    problems.push(
      `no PCI device ${address} under ${sysfs.devicesDir}: expected the PF of physicalFunctions["${address}"] in ${source}`,
    );
    return undefined;
  }
  const physfn = sysfs.physfnOf(address);
  if (physfn !== undefined) {
    problems.push(`${address} is a VF of PF ${physfn}, expected a PF: configure ${physfn} instead`);
    return undefined;
  }
  const totalVfs = sysfs.countOf(address, 'sriov_totalvfs');
  if (totalVfs === undefined) {
    problems.push(
      `PCI device ${address} is not SR-IOV capable: it has no ${sysfs.devicePath(address, 'sriov_totalvfs')}`,
    );
    return undefined;
  }
  const driver = sysfs.driverOf(address);
  if (driver !== config.pfKernelDriver) {
    const bound = driver === undefined ? 'no driver' : `driver ${driver}`;
    problems.push(`PF ${address} is bound to ${bound}, but pfKernelDriver is ${config.pfKernelDriver}`);
  }
  if (!sysfs.hasDriver(config.vfKernelDriver)) {
    problems.push(
      `unknown driver ${config.vfKernelDriver} (vfKernelDriver of PF ${address}): no ${sysfs.driversDir}/${config.vfKernelDriver}; is its module loaded?`,
    );
  }
  const numVfs = sysfs.countOf(address, 'sriov_numvfs') ?? 0;
  const links = sysfs.virtfnsOf(address);
  if (numVfs === 0 || links.length === 0) {
    problems.push(`PF ${address} has no VFs: set sriov_numvfs (sriov_totalvfs is ${totalVfs})`);
    return undefined;
  }
  if (numVfs !== links.length) {
    problems.push(
      `PF ${address} has sriov_numvfs ${numVfs} but ${links.length} virtfn links, expected one per VF`,
    );
  }
  const vfs = links.flatMap((link) => discoverVf(sysfs, address, link, problems) ?? []);
  if (config.virtualFunctions) checkListedVfs(config, vfs, problems);
  return { address, config, netdevs: sysfs.netdevsOf(address), totalVfs, vfs };
}

function discoverVf(
  sysfs: PciSysfs,
  pfAddress: string,
  { index, address }: { index: number; address: string },
  problems: string[],
): SriovVf | undefined {
  const iommuGroup = sysfs.iommuGroupOf(address);
  if (iommuGroup === undefined) {
    problems.push(
      `VF ${address} (virtfn${index} of PF ${pfAddress}) has no iommu_group link: expected the IOMMU on (intel_iommu=on or amd_iommu=on)`,
    );
    return undefined;
  }
  const netdevs = sysfs.netdevsOf(address);
  if (netdevs.length > 1) {
    problems.push(
      `VF ${address} has ${netdevs.length} netdevs (${netdevs.join(', ')}), expected at most one`,
    );
  }
  return { address, pfAddress, index, iommuGroup, driver: sysfs.driverOf(address), netdev: netdevs[0] };
}

/** Listed `virtualFunctions` must be exactly the VFs sysfs has, in the same IOMMU groups. */
function checkListedVfs(config: PhysicalFunctionConfig, vfs: readonly SriovVf[], problems: string[]): void {
  const at = `physicalFunctions["${config.address}"].virtualFunctions`;
  for (const listed of config.virtualFunctions ?? []) {
    const found = vfs.find((vf) => vf.address === listed.address);
    if (!found) {
      const has = vfs.map((vf) => vf.address).join(', ');
      problems.push(
        `${at} lists VF ${listed.address}, but PF ${config.address} has no such VF (it has ${has})`,
      );
    } else if (found.iommuGroup !== listed.iommuGroup) {
      problems.push(
        `${at} puts VF ${listed.address} in IOMMU group ${listed.iommuGroup}, but sysfs has it in group ${found.iommuGroup}`,
      );
    }
  }
  for (const vf of vfs) {
    if (!config.virtualFunctions?.some((listed) => listed.address === vf.address)) {
      problems.push(
        `${at} does not list VF ${vf.address} (virtfn${vf.index}): expected every VF of the PF, or no virtualFunctions to discover them`,
      );
    }
  }
}

/** Two configured PFs must not share a netdev name or a VF. */
function checkShared(
  pfs: readonly SriovPf[],
  what: string,
  namesOf: (pf: SriovPf) => readonly string[],
  problems: string[],
): void {
  const owners = new Map<string, string[]>();
  for (const pf of pfs) {
    for (const name of namesOf(pf)) owners.set(name, [...(owners.get(name) ?? []), pf.address]);
  }
  for (const [name, addresses] of owners) {
    if (addresses.length > 1) {
      problems.push(`PFs ${addresses.join(' and ')} share ${what} ${name}: expected each PF to have its own`);
    }
  }
}

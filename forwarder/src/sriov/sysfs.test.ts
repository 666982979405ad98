import { symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Code } from '@nsm-ts/sdk/core';
import type { PhysicalFunctionConfig, SriovConfig } from './config.js';
import { SriovSetupError, discoverSriov } from './sysfs.js';
import { fakeSriovConfig } from './testing/fake-config.js';
import { type FakePfOptions, type FakeSriov, createFakeSriov } from './testing/fake-sriov.js';
import { plainPf } from './testing/pool-fixture.js';

// Netdevs exist only in sysfs: no root needed.
const PF1 = plainPf(1);
const PF2 = plainPf(2, { vfs: 3 });

describe('discoverSriov', () => {
  const opened: FakeSriov[] = [];
  afterEach(() => {
    for (const hw of opened.splice(0)) hw.close();
  });
  function fake(...pfs: FakePfOptions[]): FakeSriov {
    const hw = createFakeSriov({ pfs });
    opened.push(hw);
    return hw;
  }
  /** The config of `hw` with the i-th PF's settings changed. */
  function configWith(hw: FakeSriov, edits: Partial<PhysicalFunctionConfig>[]): SriovConfig {
    const base = fakeSriovConfig(hw);
    return { ...base, physicalFunctions: base.physicalFunctions.map((pf, i) => ({ ...pf, ...edits[i] })) };
  }
  /** The problems discovery reports. */
  function problemsOf(config: SriovConfig, root: string): readonly string[] {
    try {
      discoverSriov(config, { root });
    } catch (err) {
      expect(err).toBeInstanceOf(SriovSetupError);
      expect((err as SriovSetupError).code).toBe(Code.FAILED_PRECONDITION);
      expect((err as SriovSetupError).message).toContain(`does not match ${root}`);
      return (err as SriovSetupError).problems;
    }
    throw new Error('expected discovery to fail');
  }

  it('finds every VF with its index, IOMMU group, driver and netdev', () => {
    const hw = fake(PF1, { ...PF2, groups: 'shared', vfsBound: false });
    const inventory = discoverSriov(fakeSriovConfig(hw), { root: hw.root });
    expect(inventory.pfs.map((pf) => [pf.address, pf.netdevs, pf.totalVfs])).toEqual([
      ['0000:01:00.0', ['ens1f0'], 8],
      ['0000:02:00.0', ['ens2f0'], 8],
    ]);
    expect(inventory.pfs[0]?.vfs).toEqual([
      {
        address: '0000:01:00.1',
        pfAddress: '0000:01:00.0',
        index: 0,
        iommuGroup: 2,
        driver: 'iavf',
        netdev: 'ens1f0v0',
      },
      {
        address: '0000:01:00.2',
        pfAddress: '0000:01:00.0',
        index: 1,
        iommuGroup: 3,
        driver: 'iavf',
        netdev: 'ens1f0v1',
      },
    ]);
    expect(inventory.pfs[1]?.vfs.map((vf) => [vf.address, vf.iommuGroup, vf.driver, vf.netdev])).toEqual([
      ['0000:02:00.1', 5, undefined, undefined],
      ['0000:02:00.2', 5, undefined, undefined],
      ['0000:02:00.3', 5, undefined, undefined],
    ]);
    expect(inventory.iommuGroups).toEqual(
      new Map([
        [2, ['0000:01:00.1']],
        [3, ['0000:01:00.2']],
        [5, ['0000:02:00.1', '0000:02:00.2', '0000:02:00.3']],
      ]),
    );
  });

  it('names a configured PF that is not there', () => {
    const hw = fake(PF1);
    const config = configWith(hw, [{ address: '0000:09:00.0' }]);
    expect(problemsOf(config, hw.root)).toEqual([
      `no PCI device 0000:09:00.0 under ${hw.root}/bus/pci/devices: expected the PF of physicalFunctions["0000:09:00.0"] in fake SR-IOV config`,
    ]);
  });

  it('tells how to give a PF without VFs some', () => {
    const hw = fake({ ...PF1, vfs: 0, totalVfs: 16 });
    expect(problemsOf(fakeSriovConfig(hw), hw.root)).toEqual([
      'PF 0000:01:00.0 has no VFs: set sriov_numvfs (sriov_totalvfs is 16)',
    ]);
  });

  it('names an unknown VF driver and a PF bound to another driver than configured', () => {
    const hw = fake(PF1);
    const problems = problemsOf(
      configWith(hw, [{ vfKernelDriver: 'ixgbevf', pfKernelDriver: 'ice' }]),
      hw.root,
    );
    expect(problems).toEqual([
      'PF 0000:01:00.0 is bound to driver i40e, but pfKernelDriver is ice',
      `unknown driver ixgbevf (vfKernelDriver of PF 0000:01:00.0): no ${hw.root}/bus/pci/drivers/ixgbevf; is its module loaded?`,
    ]);
  });

  it('refuses two PFs that share a netdev name', () => {
    const hw = fake(PF1, { ...PF2, netdev: { name: 'ens1f0' } });
    expect(problemsOf(fakeSriovConfig(hw), hw.root)).toEqual([
      'PFs 0000:01:00.0 and 0000:02:00.0 share netdev ens1f0: expected each PF to have its own',
    ]);
  });

  it('refuses a VF under two PFs, and a VF without an IOMMU group', () => {
    const hw = fake(PF1, PF2);
    const pf2 = join(hw.root, 'bus/pci/devices/0000:02:00.0');
    symlinkSync('../pci0000:01/0000:01:00.2', join(pf2, 'virtfn3'));
    writeFileSync(join(pf2, 'sriov_numvfs'), '4\n');
    unlinkSync(join(hw.root, 'bus/pci/devices/0000:02:00.1/iommu_group'));
    expect(problemsOf(fakeSriovConfig(hw), hw.root)).toEqual([
      'VF 0000:02:00.1 (virtfn0 of PF 0000:02:00.0) has no iommu_group link: expected the IOMMU on (intel_iommu=on or amd_iommu=on)',
      'PFs 0000:01:00.0 and 0000:02:00.0 share VF 0000:01:00.2: expected each PF to have its own',
    ]);
  });

  it('refuses a VF configured as a PF, and an unbound PF', () => {
    const hw = fake(PF1, PF2);
    hw.setDriver('0000:02:00.0', undefined);
    const config = configWith(hw, [{ address: '0000:01:00.2' }]);
    expect(problemsOf(config, hw.root)).toEqual([
      '0000:01:00.2 is a VF of PF 0000:01:00.0, expected a PF: configure 0000:01:00.0 instead',
      'PF 0000:02:00.0 is bound to no driver, but pfKernelDriver is i40e',
    ]);
  });

  it('checks listed virtualFunctions against sysfs', () => {
    const hw = fake(PF1);
    const config = configWith(hw, [
      {
        virtualFunctions: [
          { address: '0000:01:00.1', iommuGroup: 7 },
          { address: '0000:01:00.5', iommuGroup: 3 },
        ],
      },
    ]);
    const at = 'physicalFunctions["0000:01:00.0"].virtualFunctions';
    expect(problemsOf(config, hw.root)).toEqual([
      `${at} puts VF 0000:01:00.1 in IOMMU group 7, but sysfs has it in group 2`,
      `${at} lists VF 0000:01:00.5, but PF 0000:01:00.0 has no such VF (it has 0000:01:00.1, 0000:01:00.2)`,
      `${at} does not list VF 0000:01:00.2 (virtfn1): expected every VF of the PF, or no virtualFunctions to discover them`,
    ]);
    const matching = configWith(hw, [
      {
        virtualFunctions: [
          { address: '0000:01:00.1', iommuGroup: 2 },
          { address: '0000:01:00.2', iommuGroup: 3 },
        ],
      },
    ]);
    expect(discoverSriov(matching, { root: hw.root }).pfs[0]?.vfs).toHaveLength(2);
  });

  it('reports every problem of a node in one error', () => {
    const hw = fake({ ...PF1, vfs: 0 }, PF2);
    const config = configWith(hw, [{}, { vfKernelDriver: 'mlx5vf' }]);
    const missing: PhysicalFunctionConfig = { ...PF2Config(config), address: '0000:0a:00.0' };
    const problems = problemsOf(
      { ...config, physicalFunctions: [...config.physicalFunctions, missing] },
      hw.root,
    );
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(
      /0000:01:00.0 has no VFs[^]*unknown driver mlx5vf[^]*no PCI device 0000:0a:00.0/,
    );
  });
});

function PF2Config(config: SriovConfig): PhysicalFunctionConfig {
  const pf = config.physicalFunctions[1];
  if (!pf) throw new Error('expected two PFs');
  return pf;
}

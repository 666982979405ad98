import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { type FakeSriov, createFakeSriov } from './testing/fake-sriov.js';

// The layout and the bind/unbind rules with sysfs-only netdevs; real netdevs and VFIO nodes are in stand-ins.test.ts.
describe('createFakeSriov', () => {
  const opened: FakeSriov[] = [];
  afterEach(() => {
    for (const hw of opened.splice(0)) hw.close();
  });
  function fake(): FakeSriov {
    const hw = createFakeSriov({
      pfs: [
        {
          address: '0000:01:00.0',
          driver: 'i40e',
          vfDriver: 'iavf',
          netdev: { name: 'ens1f0' },
          vfs: 2,
          totalVfs: 4,
        },
      ],
    });
    opened.push(hw);
    return hw;
  }
  const target = (hw: FakeSriov, path: string) => realpathSync(join(hw.root, path));

  it('lays the tree out as the kernel does', () => {
    const hw = fake();
    const dev = (a: string) => join(hw.root, 'bus/pci/devices', a);
    expect(hw.pfs).toEqual([
      {
        address: '0000:01:00.0',
        driver: 'i40e',
        vfDriver: 'iavf',
        netdev: 'ens1f0',
        netns: undefined,
        iommuGroup: 1,
        vfs: [
          { address: '0000:01:00.1', index: 0, iommuGroup: 2 },
          { address: '0000:01:00.2', index: 1, iommuGroup: 3 },
        ],
      },
    ]);
    expect(lstatSync(dev('0000:01:00.0')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dev('0000:01:00.0'), 'sriov_numvfs'), 'utf8')).toBe('2\n');
    expect(readFileSync(join(dev('0000:01:00.0'), 'sriov_totalvfs'), 'utf8')).toBe('4\n');
    expect(target(hw, 'bus/pci/devices/0000:01:00.0/virtfn1')).toBe(
      target(hw, 'bus/pci/devices/0000:01:00.2'),
    );
    expect(target(hw, 'bus/pci/devices/0000:01:00.2/physfn')).toBe(
      target(hw, 'bus/pci/devices/0000:01:00.0'),
    );
    expect(target(hw, 'bus/pci/devices/0000:01:00.2/iommu_group')).toBe(target(hw, 'kernel/iommu_groups/3'));
    expect(target(hw, 'kernel/iommu_groups/3/devices/0000:01:00.2')).toBe(
      target(hw, 'bus/pci/devices/0000:01:00.2'),
    );
    expect(target(hw, 'bus/pci/devices/0000:01:00.1/driver')).toBe(target(hw, 'bus/pci/drivers/iavf'));
    expect(target(hw, 'bus/pci/drivers/iavf/0000:01:00.1')).toBe(target(hw, 'bus/pci/devices/0000:01:00.1'));
    expect(readlinkSync(join(dev('0000:01:00.1'), 'driver'))).not.toMatch(/^\//); // relative, as sysfs
    expect(existsSync(join(dev('0000:01:00.0'), 'net/ens1f0'))).toBe(true);
    expect(existsSync(join(dev('0000:01:00.1'), 'net/ens1f0v0'))).toBe(true);
    expect(readFileSync(join(dev('0000:01:00.1'), 'driver_override'), 'utf8')).toBe('(null)\n');
    for (const drv of ['i40e', 'iavf', 'vfio-pci']) {
      expect(readFileSync(join(hw.root, 'bus/pci/drivers', drv, 'bind'), 'utf8')).toBe('');
      expect(existsSync(join(hw.root, 'bus/pci/drivers', drv, 'unbind'))).toBe(true);
    }
  });

  it('honours unbind and bind writes, and refuses what the kernel refuses', async () => {
    const hw = fake();
    const vf = join(hw.root, 'bus/pci/devices/0000:01:00.1');
    writeFileSync(join(vf, 'driver/unbind'), '0000:01:00.1\n');
    await expect.poll(() => hw.driverOf('0000:01:00.1')).toBeUndefined();
    expect(existsSync(join(vf, 'net'))).toBe(false);
    expect(existsSync(join(hw.root, 'bus/pci/drivers/iavf/0000:01:00.1'))).toBe(false);

    writeFileSync(join(vf, 'driver_override'), 'vfio-pci');
    writeFileSync(join(hw.root, 'bus/pci/drivers/iavf/bind'), '0000:01:00.1');
    await expect
      .poll(() => hw.dmesg.at(-1))
      .toBe('iavf: bind 0000:01:00.1: driver_override is vfio-pci (ENODEV)');
    expect(hw.driverOf('0000:01:00.1')).toBeUndefined();

    writeFileSync(join(vf, 'driver_override'), '\n');
    writeFileSync(join(hw.root, 'bus/pci/drivers/iavf/bind'), '0000:01:00.1');
    await expect.poll(() => hw.driverOf('0000:01:00.1')).toBe('iavf');
    expect(existsSync(join(vf, 'net/ens1f0v0'))).toBe(true);

    writeFileSync(join(hw.root, 'bus/pci/drivers/i40e/bind'), '0000:01:00.2');
    await expect.poll(() => hw.dmesg.at(-1)).toBe('i40e: bind 0000:01:00.2: already bound to iavf (EBUSY)');
    writeFileSync(join(hw.root, 'bus/pci/drivers/i40e/unbind'), '0000:01:00.2');
    await expect.poll(() => hw.dmesg.at(-1)).toBe('i40e: unbind 0000:01:00.2: not bound to i40e (ENODEV)');
    expect(hw.errors).toEqual([]);
  });

  it('removes the tree on close, and a given root is left empty', () => {
    const hw = fake();
    opened.pop();
    hw.close();
    expect(existsSync(hw.root)).toBe(false);
    expect(existsSync(hw.vfioDir)).toBe(false);
    expect(() => hw.close()).not.toThrow();

    const given = mkdtempSync(join(tmpdir(), 'nsm-sriov-given-'));
    try {
      const pfs = [
        { address: '0000:05:00.0', driver: 'ice', vfDriver: 'iavf', netdev: { name: 'p5' }, vfs: 1 },
      ];
      createFakeSriov({ root: given, pfs }).close();
      expect(readdirSync(given)).toEqual([]);
      expect(() => createFakeSriov({ root: join(hw.root, '..'), pfs })).toThrow(/is not empty/);
    } finally {
      rmSync(given, { recursive: true, force: true });
    }
  });
});

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Code } from '@nsm-ts/sdk/core';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { NamespaceFixture } from '../kernel/testing/netns-fixture.js';
import { linksOf } from '../mechanisms/testing/inspect.js';
import { FAKE_VFIO_NUMBERS } from './testing/fake-kernel.js';
import { type FixturePf, SriovPoolFixture, plainPf } from './testing/pool-fixture.js';
import { sriovTokenId } from './tokens.js';

const TEN_G = 'worker.domain/10G';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/sriov: driver rebinds on emulated hardware'), () => {
  const ns = new NamespaceFixture();
  const pools = new SriovPoolFixture();
  afterEach(() => {
    try {
      pools.close();
    } finally {
      ns.cleanup();
    }
  });

  /** PF 0000:01:00.0 with real netdevs in `netns`. */
  const pf = (netns: string, extra: Partial<FixturePf> = {}) =>
    plainPf(1, { netdev: { name: 'ens1f0', netns }, ...extra });
  const macvlansIn = (netns: string) =>
    linksOf(netns)
      .filter((l) => l.linkinfo?.info_kind === 'macvlan')
      .map((l) => l.ifname)
      .sort();

  it('rebinds a VF kernel → vfio → kernel: the netdev goes, the group node appears, and back', async () => {
    const node = ns.add('node');
    const { hw, pool } = pools.make([pf(node.name)]);
    const vf = '0000:01:00.1';
    const group = hw.pfs[0]?.vfs[0]?.iommuGroup ?? -1;
    const token = sriovTokenId(TEN_G, vf);

    const kernel = await pool.acquire({ owner: 'a', tokenId: token, driver: 'kernel' });
    expect([kernel.netdev, kernel.vfio]).toEqual(['ens1f0v0', undefined]);
    expect(macvlansIn(node.name)).toEqual(['ens1f0v0', 'ens1f0v1']);
    pool.release('a');

    const vfio = await pool.acquire({ owner: 'b', tokenId: token, driver: 'vfio' });
    expect(hw.driverOf(vf)).toBe('vfio-pci');
    expect(vfio.netdev).toBeUndefined();
    expect(vfio.vfio).toEqual({
      group,
      containerPath: join(hw.vfioDir, 'vfio'),
      container: FAKE_VFIO_NUMBERS.vfio,
      groupPath: join(hw.vfioDir, String(group)),
      groupDevice: { major: FAKE_VFIO_NUMBERS.groupMajor, minor: group },
    });
    expect(statSync(join(hw.vfioDir, String(group))).isCharacterDevice()).toBe(true);
    expect(macvlansIn(node.name)).toEqual(['ens1f0v1']);
    expect(existsSync(join(hw.root, 'bus/pci/devices', vf, 'net'))).toBe(false);
    pool.release('b');

    const back = await pool.acquire({ owner: 'c', tokenId: token, driver: 'kernel' });
    expect([hw.driverOf(vf), back.netdev]).toEqual(['iavf', 'ens1f0v0']);
    expect(existsSync(join(hw.vfioDir, String(group)))).toBe(false);
    expect(macvlansIn(node.name)).toEqual(['ens1f0v0', 'ens1f0v1']);
    expect(hw.errors).toEqual([]);
  });

  it('rebinds a shared IOMMU group whole, and keeps its VFs from the other driver while one is held', async () => {
    const node = ns.add('node');
    const { hw, pool } = pools.make([pf(node.name, { vfs: 3, groups: 'shared' })]);
    const group = hw.pfs[0]?.vfs[0]?.iommuGroup ?? -1;
    const first = await pool.acquire({ owner: 'dpdk-1', name: TEN_G, driver: 'vfio' });
    expect(first.address).toBe('0000:01:00.1');
    expect(hw.pfs[0]?.vfs.map((v) => hw.driverOf(v.address))).toEqual(['vfio-pci', 'vfio-pci', 'vfio-pci']);
    expect(macvlansIn(node.name)).toEqual([]);

    const err = await pool
      .acquire({ owner: 'kernel-1', name: TEN_G, driver: 'kernel' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
    expect((err as Error).message).toContain(
      `0000:01:00.2 is free but its IOMMU group ${group} has VF 0000:01:00.1 held by dpdk-1 for vfio`,
    );

    const second = await pool.acquire({ owner: 'dpdk-2', name: TEN_G, driver: 'vfio' });
    expect([second.address, second.vfio?.groupPath]).toEqual(['0000:01:00.2', first.vfio?.groupPath]);
    pool.release('dpdk-1');
    pool.release('dpdk-2');
    const kernel = await pool.acquire({ owner: 'kernel-1', name: TEN_G, driver: 'kernel' });
    expect(kernel.netdev).toBe('ens1f0v0');
    expect(macvlansIn(node.name)).toEqual(['ens1f0v0', 'ens1f0v1', 'ens1f0v2']);
    expect(hw.errors).toEqual([]);
  });

  it('prefers for vfio a VF whose group is on vfio-pci already', async () => {
    const node = ns.add('node');
    const { hw, pool } = pools.make([pf(node.name)]);
    hw.setDriver('0000:01:00.2', 'vfio-pci');
    expect((await pool.acquire({ owner: 'a', name: TEN_G, driver: 'vfio' })).address).toBe('0000:01:00.2');
    expect(hw.driverOf('0000:01:00.1')).toBe('iavf');
    // The next one must be rebound, and is.
    expect((await pool.acquire({ owner: 'b', name: TEN_G, driver: 'vfio' })).address).toBe('0000:01:00.1');
    expect(hw.driverOf('0000:01:00.1')).toBe('vfio-pci');
  });
});

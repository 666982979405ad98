import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { NamespaceFixture, ipIn, succeedsIn } from '../kernel/testing/netns-fixture.js';
import { linksOf } from '../mechanisms/testing/inspect.js';
import { type FakeSriov, createFakeSriov } from './testing/fake-sriov.js';

describe.skipIf(!isRoot)(
  rootTitle('forwarder/src/sriov: emulated hardware with real netdevs and VFIO nodes'),
  () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    function fake(netns: string, vfs = 2): FakeSriov {
      const hw = createFakeSriov({
        pfs: [
          {
            address: '0000:01:00.0',
            driver: 'i40e',
            vfDriver: 'iavf',
            netdev: { name: 'ens1f0', netns },
            vfs,
          },
        ],
      });
      fx.defer(() => hw.close());
      return hw;
    }

    /** The emulation's links in a namespace (the PF veth's peer, named fk..., aside). */
    const namesIn = (ns: string) =>
      linksOf(ns)
        .map((l) => l.ifname)
        .filter((n) => !n.startsWith('fk'))
        .sort();

    it('gives each bound VF a macvlan on the PF veth; two, moved into pods, renamed and addressed, ping each other', async () => {
      const node = fx.add('node');
      const hw = fake(node.name);
      const links = linksOf(node.name);
      expect(links.find((l) => l.ifname === 'ens1f0')?.linkinfo?.info_kind).toBe('veth');
      for (const name of ['ens1f0v0', 'ens1f0v1']) {
        const vf = links.find((l) => l.ifname === name);
        expect(vf?.linkinfo?.info_kind).toBe('macvlan');
        expect(vf?.ifalias).toMatch(/^nsm-fake-sriov:[0-9a-f]{6}:0000:01:00\.[12]$/);
      }
      const [podA, podB] = [fx.add('a'), fx.add('b')];
      for (const [vf, pod, ip] of [
        ['ens1f0v0', podA, '10.60.0.1/24'],
        ['ens1f0v1', podB, '10.60.0.2/24'],
      ] as const) {
        ipIn(node.name, 'link', 'set', 'dev', vf, 'netns', pod.name);
        ipIn(pod.name, 'link', 'set', 'dev', vf, 'name', 'nsm0');
        ipIn(pod.name, 'addr', 'add', ip, 'dev', 'nsm0');
        ipIn(pod.name, 'link', 'set', 'dev', 'nsm0', 'up');
      }
      expect(succeedsIn(podA.name, 'ping', '-c1', '-W2', '10.60.0.2')).toBe(true);
      expect(succeedsIn(podB.name, 'ping', '-c1', '-W2', '10.60.0.1')).toBe(true);

      // A stand-in whose alias the forwarder rewrote is still found (by its MAC) when the VF goes.
      ipIn(podA.name, 'link', 'set', 'dev', 'nsm0', 'alias', 'nsm:fwd:conn-1');
      writeFileSync(join(hw.root, 'bus/pci/drivers/iavf/unbind'), '0000:01:00.1');
      await expect.poll(() => linksOf(podA.name)).toEqual([]);
      expect(hw.driverOf('0000:01:00.1')).toBeUndefined();

      // close() finds the other stand-in in its pod, and deletes the PF veth pair.
      hw.close();
      expect(linksOf(podB.name)).toEqual([]);
      expect(linksOf(node.name)).toEqual([]);
      expect(existsSync(hw.root)).toBe(false);
    });

    it('makes the group node with mknod on a vfio-pci bind and removes it when the group leaves vfio-pci', async () => {
      const node = fx.add('node');
      const hw = fake(node.name, 1);
      const vf = '0000:01:00.1';
      const group = hw.pfs[0]?.vfs[0]?.iommuGroup ?? -1;
      writeFileSync(join(hw.root, 'bus/pci/devices', vf, 'driver/unbind'), vf);
      await expect.poll(() => namesIn(node.name)).toEqual(['ens1f0']);
      writeFileSync(join(hw.root, 'bus/pci/devices', vf, 'driver_override'), 'vfio-pci');
      writeFileSync(join(hw.root, 'bus/pci/drivers/vfio-pci/bind'), vf);
      await expect.poll(() => hw.driverOf(vf)).toBe('vfio-pci');
      const groupNode = statSync(join(hw.vfioDir, String(group)));
      expect(groupNode.isCharacterDevice()).toBe(true);
      expect(statSync(join(hw.vfioDir, 'vfio')).isCharacterDevice()).toBe(true);
      hw.setDriver(vf, 'iavf');
      expect(existsSync(join(hw.vfioDir, String(group)))).toBe(false);
      expect(namesIn(node.name)).toEqual(['ens1f0', 'ens1f0v0']);
      expect(hw.errors).toEqual([]);
    });
  },
);

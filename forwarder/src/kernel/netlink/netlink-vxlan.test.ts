import { afterEach, describe, expect, it } from 'vitest';

import { type OpenNamespace, openTestNamespace } from '../testing/netlink-fixture.js';
import { NamespaceFixture, ipJson, randomSuffix, succeedsIn } from '../testing/netns-fixture.js';
import { VXLAN_DEFAULT_PORT } from './link-requests.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/kernel/netlink/netlink-vxlan'), () => {
  interface IpVxlanLink {
    ifname: string;
    mtu: number;
    linkinfo: {
      info_kind: string;
      info_data: {
        id: number;
        remote?: string;
        local?: string;
        remote6?: string;
        port: number;
        learning: boolean;
      };
    };
  }

  describe('Netlink: VXLAN devices moved into pods', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    /** A VXLAN device created in the node namespace, moved into the pod and renamed in one message. */
    async function podEnd(
      node: OpenNamespace,
      pod: OpenNamespace,
      local: string,
      remote: string,
      podAddr: string,
    ) {
      const vx = await node.nl.createVxlan({
        name: `vx${randomSuffix()}`,
        vni: 4242,
        local,
        remote,
        dstPort: VXLAN_DEFAULT_PORT,
        mtu: 1450,
      });
      await node.nl.setLink(vx.index, { nsFd: pod.fd, name: 'nsm0' });
      expect(await node.nl.findLink(vx.name)).toBeUndefined();
      const moved = await pod.nl.getLink('nsm0');
      await pod.nl.setLink(moved.index, { up: true });
      await pod.nl.addAddress(moved.index, podAddr);
      return moved;
    }

    it('carries traffic between two pods over a fabric of two emulated nodes', async () => {
      const nodeA = openTestNamespace(fx, 'na');
      const nodeB = openTestNamespace(fx, 'nb');
      const podA = openTestNamespace(fx, 'pa');
      const podB = openTestNamespace(fx, 'pb');
      const fabric = await nodeA.nl.createVeth('fab0', 'fab0', nodeB.fd);
      await nodeA.nl.setLink(fabric.index, { up: true });
      await nodeA.nl.addAddress(fabric.index, '192.168.77.1/24');
      const fabricB = await nodeB.nl.getLink('fab0');
      await nodeB.nl.setLink(fabricB.index, { up: true });
      await nodeB.nl.addAddress(fabricB.index, '192.168.77.2/24');

      const endA = await podEnd(nodeA, podA, '192.168.77.1', '192.168.77.2', '10.70.0.1/24');
      await podEnd(nodeB, podB, '192.168.77.2', '192.168.77.1', '10.70.0.2/24');

      expect(endA).toMatchObject({
        name: 'nsm0',
        kind: 'vxlan',
        mtu: 1450,
        vxlan: { vni: 4242, local: '192.168.77.1', remote: '192.168.77.2', port: 4789 },
      });
      expect(await nodeA.nl.listAddresses()).toContainEqual(
        expect.objectContaining({
          index: fabric.index,
          family: 4,
          cidr: '192.168.77.1/24',
          linkLocal: false,
        }),
      );
      const [link] = ipJson<IpVxlanLink[]>(podA.name, '-d', 'link', 'show', 'nsm0');
      expect(link?.linkinfo.info_kind).toBe('vxlan');
      expect(link?.linkinfo.info_data).toMatchObject({
        id: 4242,
        remote: '192.168.77.2',
        local: '192.168.77.1',
        port: 4789,
        learning: false,
      });
      expect(succeedsIn(podA.name, 'ping', '-c1', '-W1', '10.70.0.2')).toBe(true);
    });

    it('creates IPv6-underlay devices too', async () => {
      const node = openTestNamespace(fx, 'n6');
      const vx = await node.nl.createVxlan({
        name: 'vx6',
        vni: 7,
        local: 'fd77::1',
        remote: 'fd77::2',
        dstPort: 8472,
      });
      expect(vx.vxlan).toEqual({ vni: 7, local: 'fd77::1', remote: 'fd77::2', port: 8472 });
      const [link] = ipJson<IpVxlanLink[]>(node.name, '-d', 'link', 'show', 'vx6');
      expect(link?.linkinfo.info_data).toMatchObject({
        id: 7,
        remote6: 'fd77::2',
        port: 8472,
        learning: false,
      });
      await node.nl.deleteLink(vx.index);
      expect(await node.nl.findLink('vx6')).toBeUndefined();
    });

    it('rejects mixed-family endpoints and out-of-range VNIs before the kernel', async () => {
      const node = openTestNamespace(fx, 'nx');
      await expect(
        node.nl.createVxlan({ name: 'vx', vni: 1, local: '10.0.0.1', remote: 'fd00::1', dstPort: 4789 }),
      ).rejects.toThrow(/differ in family/);
      await expect(
        node.nl.createVxlan({
          name: 'vx',
          vni: 1 << 24,
          local: '10.0.0.1',
          remote: '10.0.0.2',
          dstPort: 4789,
        }),
      ).rejects.toThrow(/VNI must be an integer in 0..16777215/);
    });
  });
});

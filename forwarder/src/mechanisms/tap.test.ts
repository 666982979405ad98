import { afterEach, describe, expect, it } from 'vitest';

import { createContext } from '@nsm-ts/sdk/core';
import { NamespaceFixture, randomSuffix } from '../kernel/testing/netns-fixture.js';
import { formatAlias } from './alias.js';
import { createKernelDeps } from './deps.js';
import { tapLinkNames } from './tap.js';
import { NSC_IP, NSE_IP, endpointDouble, forwarderChain, localOffer, refreshOf } from './testing/harness.js';
import { addressesOf, linksOf, routesOf } from './testing/inspect.js';
import { RUN, pingFromGuest, portsOf, tapRequestFor, tunFlags } from './testing/tap-guest.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/tap'), () => {
  const ctx = createContext();

  describe('kernelMechanism: a tap for a VM in the client pod, toward an endpoint on the same node', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    async function setup() {
      const node = fx.add(`${RUN}n`);
      const nsc = fx.add(`${RUN}c`);
      const nse = fx.add(`${RUN}e`);
      const deps = await createKernelDeps({
        name: `fwd-${RUN}-${randomSuffix()}`,
        tunnelIp: '',
        vxlanPort: 4789,
        nodeNs: node.path,
      });
      fx.defer(() => deps.close());
      const endpoint = endpointDouble({ nsPath: nse.path, name: 'nse0' });
      return { node, nsc, nse, deps, endpoint, fwd: forwarderChain(deps, localOffer, endpoint) };
    }

    it('gives the pod a marked tap under the asked name, bridged to the veth; a guest on it reaches the endpoint', async () => {
      const { node, nsc, nse, deps, endpoint, fwd } = await setup();
      const conn = await fwd.request(ctx, tapRequestFor('tap-1', nsc.path, 'vm0', {}, 1400));
      const alias = formatAlias(deps.owner, 'tap-1');
      const { bridge, port } = tapLinkNames('tap-1');

      const links = linksOf(nsc.name);
      expect(links.map((l) => l.ifname).sort()).toEqual([bridge, port, 'vm0'].sort());
      const byName = new Map(links.map((l) => [l.ifname, l]));
      expect(byName.get('vm0')).toMatchObject({
        mtu: 1400,
        ifalias: alias,
        master: bridge,
        linkinfo: { info_kind: 'tun', info_data: { type: 'tap', persist: true, multi_queue: false } },
      });
      expect(byName.get(bridge)).toMatchObject({
        mtu: 1400,
        ifalias: alias,
        linkinfo: { info_kind: 'bridge' },
      });
      expect(byName.get(port)).toMatchObject({
        mtu: 1400,
        ifalias: alias,
        master: bridge,
        linkinfo: { info_kind: 'veth' },
      });
      for (const l of links) expect(l.flags, l.ifname).toContain('UP');
      // IFF_TAP and IFF_NO_PI, not IFF_TUN: what qemu's -netdev tap opens.
      const flags = tunFlags(nsc.name, 'vm0');
      expect([flags & 0x0002, flags & 0x1000, flags & 0x0001]).toEqual([0x0002, 0x1000, 0]);
      expect(portsOf(nsc.name, bridge)).toEqual([port, 'vm0'].sort());
      // The connection's addresses are the guest's: nothing in the client pod holds or routes them.
      for (const name of ['vm0', bridge, port]) expect(addressesOf(nsc.name, name), name).toEqual([]);
      expect(routesOf(nsc.name)).toEqual([]);
      expect(addressesOf(nse.name, 'nse0')).toEqual([`${NSE_IP}/32`]);
      expect(linksOf(node.name)).toEqual([]); // the tap was made in the node namespace and moved out

      // The ARP answer comes from the endpoint's interface, and so does the echo reply.
      const guest = pingFromGuest(nsc.name, 'vm0', NSC_IP, NSE_IP);
      expect(guest).toMatchObject({ exit: 0, peerMac: linksOf(nse.name)[0]?.address });

      const indexes = linksOf(nsc.name).map((l) => l.ifindex);
      await fwd.request(ctx, refreshOf(conn));
      expect(linksOf(nsc.name).map((l) => l.ifindex)).toEqual(indexes);

      await fwd.close(ctx, conn);
      expect(linksOf(nsc.name)).toEqual([]);
      expect(linksOf(nse.name)).toEqual([]);
      expect(linksOf(node.name)).toEqual([]);
      expect(endpoint.closes).toBe(1);
    });

    it('makes a multi-queue tap an unprivileged owner can attach to, and no one else', async () => {
      const { nsc, fwd } = await setup();
      const conn = await fwd.request(
        ctx,
        tapRequestFor('tap-2', nsc.path, 'vm1', { multiQueue: true, owner: 65534 }),
      );
      const tap = linksOf(nsc.name).find((l) => l.ifname === 'vm1');
      expect(tap?.linkinfo?.info_data).toMatchObject({ type: 'tap', multi_queue: true, user: 'nobody' });
      expect(pingFromGuest(nsc.name, 'vm1', NSC_IP, NSE_IP, { uid: 65534, multiQueue: true }).exit).toBe(0);
      // Attaching must ask for the same queue mode; another uid without CAP_NET_ADMIN may not attach.
      expect(pingFromGuest(nsc.name, 'vm1', NSC_IP, NSE_IP, { uid: 65534 })).toMatchObject({
        exit: 3,
        error: 'EINVAL',
      });
      expect(pingFromGuest(nsc.name, 'vm1', NSC_IP, NSE_IP, { uid: 65533, multiQueue: true })).toMatchObject({
        exit: 3,
        error: 'EPERM',
      });
      await fwd.close(ctx, conn);
      expect(linksOf(nsc.name)).toEqual([]);
    });

    it('rebuilds as a plain interface when a refresh stops asking for the tap, and back', async () => {
      const { nsc, fwd } = await setup();
      const conn = await fwd.request(ctx, tapRequestFor('tap-3', nsc.path, 'vm0'));
      const plain = refreshOf(conn);
      const mech = plain.connection?.mechanism;
      if (!mech) throw new Error('no mechanism');
      mech.parameters = { inodeURL: `file://${nsc.path}`, name: 'vm0' };
      const again = await fwd.request(ctx, plain);
      expect(linksOf(nsc.name).map((l) => [l.ifname, l.linkinfo?.info_kind])).toEqual([['vm0', 'veth']]);
      expect(addressesOf(nsc.name, 'vm0')).toEqual([`${NSC_IP}/32`]);
      const back = await fwd.request(ctx, tapRequestFor('tap-3', nsc.path, 'vm0'));
      expect(linksOf(nsc.name)).toHaveLength(3);
      await fwd.close(ctx, back);
      expect(again.id).toBe('tap-3');
      expect(linksOf(nsc.name)).toEqual([]);
    });
  });
});

import { afterEach, describe, expect, it } from 'vitest';

import { createContext } from '@nsm-ts/sdk/core';
import { type VniAllocator, createVniAllocator } from '@nsm-ts/sdk/elements';
import { NamespaceFixture, ipIn, randomSuffix, succeedsIn } from '../kernel/testing/netns-fixture.js';
import { formatAlias } from './alias.js';
import { type KernelDeps, createKernelDeps } from './deps.js';
import { TUNNEL_A, TUNNEL_B, twoNodes } from './testing/fabric.js';
import {
  NSC_IP,
  NSE_IP,
  clientRequest,
  endpointDouble,
  forwarderChain,
  localOffer,
  refreshOf,
  remoteHop,
  tunnelOffer,
} from './testing/harness.js';
import { addressesOf, linksOf } from './testing/inspect.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/vxlan'), () => {
  const ctx = createContext();

  describe('KERNEL over VXLAN between two nodes', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    async function deps(nodeNs: string, tunnelIp: string, vnis?: VniAllocator): Promise<KernelDeps> {
      const d = await createKernelDeps({
        name: `fwd-${randomSuffix()}`,
        tunnelIp,
        vxlanPort: 4789,
        nodeNs,
        ...(vnis ? { vnis } : {}),
      });
      fx.defer(() => d.close());
      return d;
    }

    async function setup(fabricMtu = 1500, nseName: string | null = 'nse0', vnis?: VniAllocator) {
      const { nodeA, nodeB } = twoNodes(fx, fabricMtu);
      const nsc = fx.add('c');
      const nse = fx.add('e');
      const depsA = await deps(nodeA.path, TUNNEL_A);
      const depsB = await deps(nodeB.path, TUNNEL_B, vnis);
      const endpoint = endpointDouble({ nsPath: nse.path, ...(nseName ? { name: nseName } : {}) });
      const fwdB = forwarderChain(depsB, localOffer, endpoint);
      const fwdA = forwarderChain(depsA, tunnelOffer(TUNNEL_A), remoteHop(fwdB));
      return { nodeA, nodeB, nsc, nse, depsA, depsB, endpoint, fwdA };
    }

    it('builds a VXLAN device into each pod from its node; traffic crosses; close removes both', async () => {
      const { nodeA, nodeB, nsc, nse, depsA, depsB, endpoint, fwdA } = await setup();
      const conn = await fwdA.request(ctx, clientRequest('k2v2k-1', nsc.path, { name: 'nsc0' }));

      const vni = depsB.vnis.vniOf('k2v2k-1@remote');
      expect(vni).toBeDefined();
      expect((vni ?? 1) % 2).toBe(0); // parity: src 192.168.77.1 <= dst 192.168.77.2
      const [a] = linksOf(nsc.name);
      const [b] = linksOf(nse.name);
      expect(a).toMatchObject({
        ifname: 'nsc0',
        mtu: 1450,
        ifalias: formatAlias(depsA.owner, 'k2v2k-1'),
        linkinfo: {
          info_kind: 'vxlan',
          info_data: { id: vni, local: TUNNEL_A, remote: TUNNEL_B, port: 4789 },
        },
      });
      expect(b).toMatchObject({
        ifname: 'nse0',
        mtu: 1450,
        ifalias: formatAlias(depsB.owner, 'k2v2k-1@remote'),
        linkinfo: {
          info_kind: 'vxlan',
          info_data: { id: vni, local: TUNNEL_B, remote: TUNNEL_A, port: 4789 },
        },
      });
      expect(addressesOf(nsc.name, 'nsc0')).toEqual([`${NSC_IP}/32`]);
      expect(addressesOf(nse.name, 'nse0')).toEqual([`${NSE_IP}/32`]);
      // The node namespaces keep only their fabric: the devices moved out, their sockets stayed.
      expect(linksOf(nodeA.name).map((l) => l.ifname)).toEqual(['fab0']);
      expect(linksOf(nodeB.name).map((l) => l.ifname)).toEqual(['fab0']);
      expect(succeedsIn(nsc.name, 'ping', '-c1', '-W1', NSE_IP)).toBe(true);
      expect(succeedsIn(nse.name, 'ping', '-c1', '-W1', NSC_IP)).toBe(true);

      const again = await fwdA.request(ctx, refreshOf(conn));
      expect(again.mechanism?.type).toBe('KERNEL');
      expect(linksOf(nsc.name)[0]?.ifindex).toBe(a?.ifindex);
      expect(linksOf(nse.name)[0]?.ifindex).toBe(b?.ifindex);
      expect(depsB.vnis.vniOf('k2v2k-1@remote')).toBe(vni);

      await fwdA.close(ctx, again);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
      expect(endpoint.closes).toBe(1);
      expect(depsB.vnis.size).toBe(0);
      expect(depsA.nodeVnis.size + depsB.nodeVnis.size).toBe(0);
    });

    it('clamps the MTU to the fabric minus 50 bytes and the context MTU', async () => {
      const { nsc, nse, fwdA } = await setup(1400);
      const conn = await fwdA.request(ctx, clientRequest('k2v2k-2', nsc.path, { name: 'nsc0', mtu: 9000 }));
      expect(linksOf(nsc.name)[0]?.mtu).toBe(1350);
      expect(linksOf(nse.name)[0]?.mtu).toBe(1350);
      // The answer carries the tunnel's MTU back (a passthrough in front sizes its other side by it).
      expect(conn.context?.MTU).toBe(1350);
      await fwdA.close(ctx, conn);
      const small = await fwdA.request(ctx, clientRequest('k2v2k-3', nsc.path, { name: 'nsc1', mtu: 1280 }));
      expect(linksOf(nsc.name)[0]?.mtu).toBe(1280);
      expect(small.context?.MTU).toBe(1280);
      await fwdA.close(ctx, small);
    });

    it('gives concurrent connections distinct VNIs and removes only the closed one', async () => {
      const { nsc, nse, depsB, fwdA } = await setup(1500, null); // the endpoint names nothing
      const one = await fwdA.request(ctx, clientRequest('k2v2k-4', nsc.path, { name: 'nsc0' }));
      const two = await fwdA.request(ctx, clientRequest('k2v2k-5', nsc.path, { name: 'nsc1' }));
      expect(depsB.vnis.vniOf('k2v2k-4@remote')).not.toBe(depsB.vnis.vniOf('k2v2k-5@remote'));
      expect(
        linksOf(nsc.name)
          .map((l) => l.ifname)
          .sort(),
      ).toEqual(['nsc0', 'nsc1']);
      expect(linksOf(nse.name)).toHaveLength(2);
      await fwdA.close(ctx, one);
      expect(linksOf(nsc.name).map((l) => l.ifname)).toEqual(['nsc1']);
      expect(linksOf(nse.name)).toHaveLength(1);
      await fwdA.close(ctx, two);
    });

    /** VNIs 100, 102, 104 ... in that order (random() hands out 50, 51, 52 ...). */
    function predictableVnis(): VniAllocator {
      let next = 50;
      return createVniAllocator({ random: () => next++ });
    }

    it('picks another VNI when the receiving node already has the chosen one', async () => {
      const vnis = predictableVnis();
      const { nodeB, nsc, nse, depsB, fwdA } = await setup(1500, 'nse0', vnis);
      ipIn(
        nodeB.name,
        'link',
        'add',
        'squat',
        'type',
        'vxlan',
        'id',
        '100',
        'dstport',
        '4789',
        'local',
        TUNNEL_B,
      );
      const conn = await fwdA.request(ctx, clientRequest('k2v2k-6', nsc.path, { name: 'nsc0' }));
      expect(depsB.vnis.vniOf('k2v2k-6@remote')).toBe(102);
      expect(linksOf(nsc.name)[0]?.linkinfo?.info_data?.id).toBe(102);
      expect(linksOf(nse.name)[0]?.linkinfo?.info_data?.id).toBe(102);
      expect(succeedsIn(nsc.name, 'ping', '-c1', '-W1', NSE_IP)).toBe(true);
      await fwdA.close(ctx, conn);
    });

    it('renegotiates the tunnel when the sending node already has the VNI the remote chose', async () => {
      const vnis = predictableVnis();
      const { nodeA, nsc, nse, endpoint, fwdA } = await setup(1500, 'nse0', vnis);
      ipIn(
        nodeA.name,
        'link',
        'add',
        'squat',
        'type',
        'vxlan',
        'id',
        '100',
        'dstport',
        '4789',
        'local',
        TUNNEL_A,
      );
      const conn = await fwdA.request(ctx, clientRequest('k2v2k-7', nsc.path, { name: 'nsc0' }));
      expect(linksOf(nsc.name)[0]?.linkinfo?.info_data?.id).toBe(102);
      expect(linksOf(nse.name).map((l) => l.linkinfo?.info_data?.id)).toEqual([102]);
      expect(endpoint.closes).toBe(1); // the first attempt was closed end to end
      expect(succeedsIn(nse.name, 'ping', '-c1', '-W1', NSC_IP)).toBe(true);
      await fwdA.close(ctx, conn);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
    });
  });
});

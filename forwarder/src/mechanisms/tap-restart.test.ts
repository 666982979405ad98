import { afterEach, describe, expect, it } from 'vitest';

import { FakeClock, createContext } from '@nsm-ts/sdk/core';
import { NamespaceFixture, ipIn, randomSuffix } from '../kernel/testing/netns-fixture.js';
import { createTap } from '../kernel/tap.js';
import { formatAlias } from './alias.js';
import { type KernelDeps, type KernelDepsOptions, createKernelDeps } from './deps.js';
import { tapLinkNames } from './tap.js';
import { TUNNEL_A, TUNNEL_B, twoNodes } from './testing/fabric.js';
import {
  NSC_IP,
  NSE_IP,
  endpointDouble,
  forwarderChain,
  localOffer,
  refreshOf,
  remoteHop,
  tunnelOffer,
} from './testing/harness.js';
import { linksOf } from './testing/inspect.js';
import { RUN, pingFromGuest, portsOf, tapRequestFor } from './testing/tap-guest.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/tap-restart'), () => {
  const ctx = createContext();

  describe('a tap toward another node, and across forwarder restarts', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    async function start(options: Partial<KernelDepsOptions> & { name: string }): Promise<KernelDeps> {
      const deps = await createKernelDeps({ tunnelIp: '', vxlanPort: 4789, ...options });
      fx.defer(() => deps.close());
      return deps;
    }

    it('bridges the tap to a VXLAN device toward the remote endpoint; the guest reaches it; close removes all', async () => {
      const { nodeA, nodeB } = twoNodes(fx);
      const nsc = fx.add(`${RUN}c`);
      const nse = fx.add(`${RUN}e`);
      const depsA = await start({ name: `fa-${RUN}`, nodeNs: nodeA.path, tunnelIp: TUNNEL_A });
      const depsB = await start({ name: `fb-${RUN}`, nodeNs: nodeB.path, tunnelIp: TUNNEL_B });
      const endpoint = endpointDouble({ nsPath: nse.path, name: 'nse0' });
      const fwdA = forwarderChain(
        depsA,
        tunnelOffer(TUNNEL_A),
        remoteHop(forwarderChain(depsB, localOffer, endpoint)),
      );
      const conn = await fwdA.request(ctx, tapRequestFor('tr-1', nsc.path, 'vm0'));

      const { bridge, port } = tapLinkNames('tr-1');
      const links = new Map(linksOf(nsc.name).map((l) => [l.ifname, l]));
      expect([...links.keys()].sort()).toEqual([bridge, port, 'vm0'].sort());
      expect(links.get(port)).toMatchObject({
        mtu: 1450,
        master: bridge,
        linkinfo: { info_kind: 'vxlan', info_data: { local: TUNNEL_A, remote: TUNNEL_B } },
      });
      expect(links.get('vm0')).toMatchObject({
        mtu: 1450,
        master: bridge,
        linkinfo: { info_data: { type: 'tap' } },
      });
      expect(links.get(bridge)?.mtu).toBe(1450);
      expect(portsOf(nsc.name, bridge)).toEqual([port, 'vm0'].sort());
      expect(conn.context?.MTU).toBe(1450); // what the guest's NIC must use
      expect(linksOf(nodeA.name).map((l) => l.ifname)).toEqual(['fab0']);

      expect(pingFromGuest(nsc.name, 'vm0', NSC_IP, NSE_IP)).toMatchObject({
        exit: 0,
        peerMac: linksOf(nse.name)[0]?.address,
      });
      await fwdA.close(ctx, conn);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
      expect(linksOf(nodeA.name).map((l) => l.ifname)).toEqual(['fab0']);
      expect(endpoint.closes).toBe(1);
    });

    async function localTapWire(name: string, connId: string) {
      const node = fx.add(`${RUN}n`);
      const nsc = fx.add(`${RUN}c`);
      const nse = fx.add(`${RUN}e`);
      const first = await start({ name, nodeNs: node.path });
      const fwd = forwarderChain(first, localOffer, endpointDouble({ nsPath: nse.path, name: 'nse0' }));
      const conn = await fwd.request(ctx, tapRequestFor(connId, nsc.path, 'vm0', { owner: 65534 }));
      first.close(); // the process "dies": its links stay
      return {
        node,
        nsc,
        nse,
        conn,
        indexes: linksOf(nsc.name)
          .map((l) => `${l.ifname}#${l.ifindex}`)
          .sort(),
      };
    }

    it('adopts tap, bridge and wire end on replay after a restart: the same links, traffic still passes', async () => {
      const name = `fwd-${RUN}-${randomSuffix()}`;
      const { node, nsc, nse, conn, indexes } = await localTapWire(name, 'tr-2');
      const second = await start({ name, nodeNs: node.path });
      expect(second.adoption.pending).toBe(1);
      const fwd = forwarderChain(second, localOffer, endpointDouble({ nsPath: nse.path, name: 'nse0' }));
      const replayed = await fwd.request(ctx, refreshOf(conn));
      expect(second.adoption.pending).toBe(0);
      expect(
        linksOf(nsc.name)
          .map((l) => `${l.ifname}#${l.ifindex}`)
          .sort(),
      ).toEqual(indexes);
      expect(pingFromGuest(nsc.name, 'vm0', NSC_IP, NSE_IP, { uid: 65534 }).exit).toBe(0);
      await fwd.close(ctx, replayed);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
    });

    it('rebuilds on replay when the tap found is not the one asked for (another owner)', async () => {
      const name = `fwd-${RUN}-${randomSuffix()}`;
      const { node, nsc, nse, conn, indexes } = await localTapWire(name, 'tr-3');
      const second = await start({ name, nodeNs: node.path });
      const fwd = forwarderChain(second, localOffer, endpointDouble({ nsPath: nse.path, name: 'nse0' }));
      const replay = refreshOf(conn);
      if (replay.connection?.mechanism) replay.connection.mechanism.parameters['nsm_tap_owner'] = '65533';
      const replayed = await fwd.request(ctx, replay);
      const now = linksOf(nsc.name);
      expect(now).toHaveLength(3);
      expect(now.map((l) => `${l.ifname}#${l.ifindex}`).sort()).not.toEqual(indexes);
      expect(now.find((l) => l.ifname === 'vm0')?.linkinfo?.info_data?.user).toBe(65533);
      expect(linksOf(nse.name)).toHaveLength(1);
      await fwd.close(ctx, replayed);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
    });

    it('removes the tap, bridge and wire end a killed forwarder left, and a tap it left in the node namespace', async () => {
      const name = `fwd-${RUN}-${randomSuffix()}`;
      const { node, nsc, nse } = await localTapWire(name, 'tr-4');
      // Killed between making a tap in the node namespace and moving it: it is marked already.
      const stranded = `nsm${randomSuffix()}${randomSuffix()}`;
      createTap(stranded, { nsPath: node.path });
      ipIn(node.name, 'link', 'set', 'dev', stranded, 'alias', formatAlias(name, 'tr-5'));

      const clock = new FakeClock();
      const second = await start({ name, nodeNs: node.path, clock, adoptionGraceMs: 30_000 });
      expect(second.adoption.pending).toBe(2);
      expect(linksOf(nsc.name)).toHaveLength(3);
      await clock.advance(30_000);
      await expect
        .poll(() => [...linksOf(nsc.name), ...linksOf(nse.name), ...linksOf(node.name)])
        .toEqual([]);
    });
  });
});

import { afterEach, describe, expect, it } from 'vitest';

import { FakeClock } from '@nsm-ts/sdk/core';
import { createContext } from '@nsm-ts/sdk/core';
import { NamespaceFixture, randomSuffix, succeedsIn } from '../kernel/testing/netns-fixture.js';
import { formatAlias } from './alias.js';
import { type KernelDeps, type KernelDepsOptions, createKernelDeps } from './deps.js';
import { TUNNEL_A, TUNNEL_B, twoNodes } from './testing/fabric.js';
import {
  NSE_IP,
  clientRequest,
  endpointDouble,
  forwarderChain,
  localOffer,
  refreshOf,
  remoteHop,
  tunnelOffer,
} from './testing/harness.js';
import { linksOf } from './testing/inspect.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/adopt'), () => {
  const ctx = createContext();

  describe('restart: a new forwarder run adopts or removes the interfaces of the previous one', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    async function start(options: Partial<KernelDepsOptions> & { name: string }): Promise<KernelDeps> {
      const deps = await createKernelDeps({ tunnelIp: '', vxlanPort: 4789, ...options });
      fx.defer(() => deps.close());
      return deps;
    }

    async function localWire(name: string, connId: string) {
      const nsc = fx.add('c');
      const nse = fx.add('e');
      const first = await start({ name });
      const fwd = forwarderChain(first, localOffer, endpointDouble({ nsPath: nse.path, name: 'nse0' }));
      const conn = await fwd.request(ctx, clientRequest(connId, nsc.path, { name: 'nsc0' }));
      first.close(); // the process "dies": its wires stay
      return { nsc, nse, conn, indexes: [linksOf(nsc.name)[0]?.ifindex, linksOf(nse.name)[0]?.ifindex] };
    }

    it('adopts a veth wire on replay: same interfaces, exactly one per pod, still passing traffic', async () => {
      const name = `fwd-${randomSuffix()}`;
      const { nsc, nse, conn, indexes } = await localWire(name, 'r-1');
      const second = await start({ name });
      expect(second.adoption.pending).toBe(1);
      const fwd = forwarderChain(second, localOffer, endpointDouble({ nsPath: nse.path, name: 'nse0' }));
      const replayed = await fwd.request(ctx, refreshOf(conn));
      expect(second.adoption.pending).toBe(0);
      expect([linksOf(nsc.name)[0]?.ifindex, linksOf(nse.name)[0]?.ifindex]).toEqual(indexes);
      expect(linksOf(nsc.name)).toHaveLength(1);
      expect(linksOf(nse.name)).toHaveLength(1);
      expect(succeedsIn(nsc.name, 'ping', '-c1', '-W1', NSE_IP)).toBe(true);
      await fwd.close(ctx, replayed);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
    });

    it('rebuilds when the replay wants something else, leaving exactly one interface per pod', async () => {
      const name = `fwd-${randomSuffix()}`;
      const { nsc, nse, conn } = await localWire(name, 'r-2');
      const second = await start({ name });
      const fwd = forwarderChain(second, localOffer, endpointDouble({ nsPath: nse.path, name: 'nse1' }));
      const replay = refreshOf(conn);
      if (replay.connection?.mechanism) replay.connection.mechanism.parameters['name'] = 'nsc1';
      await fwd.request(ctx, replay);
      expect(linksOf(nsc.name).map((l) => l.ifname)).toEqual(['nsc1']);
      expect(linksOf(nse.name).map((l) => l.ifname)).toEqual(['nse1']);
      expect(succeedsIn(nsc.name, 'ping', '-c1', '-W1', NSE_IP)).toBe(true);
    });

    it('removes unclaimed interfaces after the grace period, and never those of another forwarder', async () => {
      const name = `fwd-${randomSuffix()}`;
      const { nsc, nse } = await localWire(name, 'r-3');
      const other = await start({ name: `other-${randomSuffix()}` });
      const otherFwd = forwarderChain(other, localOffer, endpointDouble({ nsPath: nse.path, name: 'nse9' }));
      const kept = await otherFwd.request(ctx, clientRequest('r-3', nsc.path, { name: 'nsc9' }));

      const clock = new FakeClock();
      const second = await start({ name, clock, adoptionGraceMs: 30_000 });
      expect(second.adoption.pending).toBe(1);
      await clock.advance(29_000);
      expect(
        linksOf(nsc.name)
          .map((l) => l.ifname)
          .sort(),
      ).toEqual(['nsc0', 'nsc9']);
      await clock.advance(1_000);
      await expect.poll(() => linksOf(nsc.name).map((l) => l.ifname)).toEqual(['nsc9']);
      expect(linksOf(nse.name).map((l) => l.ifname)).toEqual(['nse9']);
      expect(linksOf(nsc.name)[0]?.ifalias).toBe(formatAlias(other.owner, 'r-3'));
      await otherFwd.close(ctx, kept);
    });

    it('removes the stale interfaces of a connection closed before any replay', async () => {
      const name = `fwd-${randomSuffix()}`;
      const { nsc, nse, conn } = await localWire(name, 'r-4');
      const second = await start({ name });
      const endpoint = endpointDouble({ nsPath: nse.path, name: 'nse0' });
      // Straight to the elements: the forwarder's begin would drop a close of a connection it never saw.
      await forwarderChain(second, localOffer, endpoint, { begin: false }).close(ctx, conn);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
      expect(endpoint.closes).toBe(1);
    });

    it('adopts both VXLAN ends when both forwarders restart, keeping the VNI', async () => {
      const { nodeA, nodeB } = twoNodes(fx);
      const nsc = fx.add('c');
      const nse = fx.add('e');
      const [nameA, nameB] = [`fa-${randomSuffix()}`, `fb-${randomSuffix()}`];
      const run = async () => {
        const depsA = await start({ name: nameA, nodeNs: nodeA.path, tunnelIp: TUNNEL_A });
        const depsB = await start({ name: nameB, nodeNs: nodeB.path, tunnelIp: TUNNEL_B });
        const fwdB = forwarderChain(depsB, localOffer, endpointDouble({ nsPath: nse.path, name: 'nse0' }));
        return { depsA, depsB, fwdA: forwarderChain(depsA, tunnelOffer(TUNNEL_A), remoteHop(fwdB)) };
      };
      const before = await run();
      const conn = await before.fwdA.request(ctx, clientRequest('r-5', nsc.path, { name: 'nsc0' }));
      const vni = before.depsB.vnis.vniOf('r-5@remote');
      const indexes = [linksOf(nsc.name)[0]?.ifindex, linksOf(nse.name)[0]?.ifindex];
      before.depsA.close();
      before.depsB.close();

      const after = await run();
      const replayed = await after.fwdA.request(ctx, refreshOf(conn));
      expect(after.depsB.vnis.vniOf('r-5@remote')).toBe(vni);
      expect([linksOf(nsc.name)[0]?.ifindex, linksOf(nse.name)[0]?.ifindex]).toEqual(indexes);
      expect(linksOf(nsc.name)).toHaveLength(1);
      expect(linksOf(nse.name)).toHaveLength(1);
      expect(succeedsIn(nsc.name, 'ping', '-c1', '-W1', NSE_IP)).toBe(true);
      await after.fwdA.close(ctx, replayed);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
    });
  });
});

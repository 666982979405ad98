/**
 * The wire audit: a pod deleted while its connection is up gets that connection closed through the
 * path, so the far side's interface goes too and nothing is left for it on either node.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { createContext } from '@nsm-ts/sdk/core';
import { NamespaceFixture, randomSuffix } from '../kernel/testing/netns-fixture.js';
import { createKernelDeps } from './deps.js';
import { TUNNEL_A, TUNNEL_B, twoNodes } from './testing/fabric.js';
import {
  clientRequest,
  endpointDouble,
  forwarderChain,
  localOffer,
  remoteHop,
  tunnelOffer,
} from './testing/harness.js';
import { linksOf } from './testing/inspect.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/audit'), () => {
  const ctx = createContext();

  describe('the wire audit', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    async function twoForwarders() {
      const { nodeA, nodeB } = twoNodes(fx);
      const nsc = fx.add('c');
      const nse = fx.add('e');
      const start = async (nodeNs: string, tunnelIp: string) => {
        const d = await createKernelDeps({
          name: `fwd-${randomSuffix()}`,
          tunnelIp,
          vxlanPort: 4789,
          nodeNs,
          auditEveryMs: 50,
        });
        fx.defer(() => d.close());
        return d;
      };
      const depsA = await start(nodeA.path, TUNNEL_A);
      const depsB = await start(nodeB.path, TUNNEL_B);
      const endpoint = endpointDouble({ nsPath: nse.path });
      const fwdB = forwarderChain(depsB, localOffer, endpoint);
      const fwdA = forwarderChain(depsA, tunnelOffer(TUNNEL_A), remoteHop(fwdB));
      return { nodeA, nodeB, nsc, nse, depsA, depsB, endpoint, fwdA };
    }

    it('a deleted client pod gets its connection closed: the endpoint pod loses its VXLAN device', async () => {
      const { nsc, nse, depsA, depsB, endpoint, fwdA } = await twoForwarders();
      await fwdA.request(ctx, clientRequest('doomed', nsc.path, { name: 'nsm-1' }));
      expect(linksOf(nse.name)).toHaveLength(1);
      fx.remove(nsc);
      await expect.poll(() => endpoint.closes, { timeout: 5000 }).toBe(1);
      expect(linksOf(nse.name)).toEqual([]);
      expect(depsA.wires.size).toBe(0);
      expect(depsB.wires.size).toBe(0);
      expect(depsB.nodeVnis.size).toBe(0);
    });

    it("a deleted endpoint pod gets its connection closed on the endpoint's node", async () => {
      const { nsc, nse, depsA, depsB, fwdA } = await twoForwarders();
      const conn = await fwdA.request(ctx, clientRequest('orphaned', nsc.path, { name: 'nsm-1' }));
      fx.remove(nse);
      await expect.poll(() => depsB.wires.size, { timeout: 5000 }).toBe(0);
      expect(depsB.nodeVnis.size).toBe(0);
      // The client's side is the client's to repair: the close travels back to it as a monitor event
      // and it reselects (end-to-end tests); its pod still exists, so node A keeps its end until then.
      expect(depsA.wires.size).toBe(1);
      await fwdA.close(ctx, conn);
      expect(linksOf(nsc.name)).toEqual([]);
    });

    it('leaves wires whose pods exist alone', async () => {
      const { nsc, nse, depsA, fwdA } = await twoForwarders();
      const conn = await fwdA.request(ctx, clientRequest('fine', nsc.path, { name: 'nsm-1' }));
      await new Promise((r) => setTimeout(r, 300));
      expect(depsA.wires.has(conn.id)).toBe(true);
      expect(linksOf(nsc.name)).toHaveLength(1);
      expect(linksOf(nse.name)).toHaveLength(1);
      await fwdA.close(ctx, conn);
    });
  });
});

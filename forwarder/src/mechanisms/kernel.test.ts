import { afterEach, describe, expect, it } from 'vitest';

import { createContext } from '@nsm-ts/sdk/core';
import { NamespaceFixture, ipIn, randomSuffix, succeedsIn } from '../kernel/testing/netns-fixture.js';
import { formatAlias } from './alias.js';
import { type KernelDeps, createKernelDeps } from './deps.js';
import {
  NSC_IP,
  NSE_IP,
  clientRequest,
  endpointDouble,
  forwarderChain,
  localOffer,
  refreshOf,
} from './testing/harness.js';
import { addressesOf, linksOf, routesOf } from './testing/inspect.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/kernel'), () => {
  const ctx = createContext();

  describe('kernelMechanism: KERNEL to KERNEL on one node', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    async function setup(nseName: string | null = 'nse0') {
      const nsc = fx.add('c');
      const nse = fx.add('e');
      const deps: KernelDeps = await createKernelDeps({
        name: `fwd-${randomSuffix()}`,
        tunnelIp: '',
        vxlanPort: 4789,
      });
      fx.defer(() => deps.close());
      const endpoint = endpointDouble({ nsPath: nse.path, ...(nseName ? { name: nseName } : {}) });
      return { nsc, nse, deps, endpoint, fwd: forwarderChain(deps, localOffer, endpoint) };
    }

    it('joins the pods with one veth pair, configured, marked and passing traffic; close removes it', async () => {
      const { nsc, nse, deps, endpoint, fwd } = await setup();
      const conn = await fwd.request(ctx, clientRequest('k2k-1', nsc.path, { name: 'nsc0', mtu: 1400 }));

      expect(conn.mechanism).toMatchObject({
        type: 'KERNEL',
        parameters: { name: 'nsc0', inodeURL: `file://${nsc.path}` },
      });
      const alias = formatAlias(deps.owner, 'k2k-1');
      const [client] = linksOf(nsc.name);
      const [server] = linksOf(nse.name);
      expect(linksOf(nsc.name)).toHaveLength(1);
      expect(linksOf(nse.name)).toHaveLength(1);
      expect(client).toMatchObject({
        ifname: 'nsc0',
        mtu: 1400,
        ifalias: alias,
        linkinfo: { info_kind: 'veth' },
      });
      expect(server).toMatchObject({
        ifname: 'nse0',
        mtu: 1400,
        ifalias: alias,
        linkinfo: { info_kind: 'veth' },
      });
      expect(client?.flags).toContain('UP');
      expect(addressesOf(nsc.name, 'nsc0')).toEqual([`${NSC_IP}/32`]);
      expect(addressesOf(nse.name, 'nse0')).toEqual([`${NSE_IP}/32`]);
      expect(routesOf(nsc.name)).toContainEqual(
        expect.objectContaining({ dst: NSE_IP, dev: 'nsc0', scope: 'link' }),
      );
      expect(routesOf(nse.name)).toContainEqual(
        expect.objectContaining({ dst: NSC_IP, dev: 'nse0', scope: 'link' }),
      );
      expect(succeedsIn(nsc.name, 'ping', '-c1', '-W1', NSE_IP)).toBe(true);
      expect(succeedsIn(nse.name, 'ping', '-c1', '-W1', NSC_IP)).toBe(true);

      await fwd.close(ctx, conn);
      expect(linksOf(nsc.name)).toEqual([]);
      expect(linksOf(nse.name)).toEqual([]);
      expect(endpoint.closes).toBe(1);
      expect(deps.netlinks.size).toBe(1); // only the node namespace stays open between operations
    });

    it('generates names when neither side gives one, and keeps them across refreshes', async () => {
      const { nsc, nse, fwd } = await setup(null);
      const conn = await fwd.request(ctx, clientRequest('k2k-2', nsc.path));
      const name = conn.mechanism?.parameters['name'] ?? '';
      expect(name).toMatch(/^icmp-respo-[a-z0-9]{4}$/);
      const nseName = linksOf(nse.name)[0]?.ifname;
      expect(nseName).toMatch(/^icmp-respo-[a-z0-9]{4}$/);
      await fwd.request(ctx, refreshOf(conn));
      expect(linksOf(nsc.name).map((l) => l.ifname)).toEqual([name]);
      expect(linksOf(nse.name).map((l) => l.ifname)).toEqual([nseName]);
      await fwd.close(ctx, conn);
    });

    it('keeps the wire on refresh, applies context changes, and rebuilds what disappeared', async () => {
      const { nsc, nse, fwd } = await setup();
      const conn = await fwd.request(ctx, clientRequest('k2k-3', nsc.path, { name: 'nsc0' }));
      const before = [linksOf(nsc.name)[0]?.ifindex, linksOf(nse.name)[0]?.ifindex];

      const same = await fwd.request(ctx, refreshOf(conn));
      expect([linksOf(nsc.name)[0]?.ifindex, linksOf(nse.name)[0]?.ifindex]).toEqual(before);

      const changed = refreshOf(same);
      const ip = changed.connection?.context?.ip_context;
      if (!ip) throw new Error('no ip context');
      ip.src_ip_addrs = ['172.16.9.3/32'];
      ip.src_routes.push({ prefix: '10.99.0.0/16', nextHop: '' });
      ip.dst_routes = [{ prefix: '172.16.9.3/32', nextHop: '' }];
      await fwd.request(ctx, changed);
      expect([linksOf(nsc.name)[0]?.ifindex, linksOf(nse.name)[0]?.ifindex]).toEqual(before);
      expect(addressesOf(nsc.name, 'nsc0')).toEqual(['172.16.9.3/32']);
      expect(routesOf(nsc.name)).toContainEqual(
        expect.objectContaining({ dst: '10.99.0.0/16', gateway: NSE_IP, flags: ['onlink'] }),
      );
      expect(routesOf(nse.name).map((r) => r.dst)).toEqual(['172.16.9.3']);
      expect(succeedsIn(nse.name, 'ping', '-c1', '-W1', '172.16.9.3')).toBe(true);

      ipIn(nse.name, 'link', 'del', 'nse0');
      expect(linksOf(nsc.name)).toEqual([]); // the pair went with it
      await fwd.request(ctx, changed);
      expect(linksOf(nsc.name).map((l) => l.ifname)).toEqual(['nsc0']);
      expect(linksOf(nse.name).map((l) => l.ifname)).toEqual(['nse0']);
      expect(succeedsIn(nsc.name, 'ping', '-c1', '-W1', NSE_IP)).toBe(true);
      await fwd.close(ctx, conn);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
    });

    it('builds nothing for a NOOP endpoint', async () => {
      const nsc = fx.add('c');
      const deps = await createKernelDeps({
        name: `fwd-${randomSuffix()}`,
        tunnelIp: '',
        vxlanPort: 4789,
        adopt: false,
      });
      fx.defer(() => deps.close());
      const endpoint = endpointDouble({ nsPath: nsc.path, noop: true });
      const fwd = forwarderChain(deps, () => [{ type: 'NOOP', cls: 'LOCAL', parameters: {} }], endpoint);
      const conn = await fwd.request(ctx, clientRequest('k2k-4', nsc.path, { name: 'nsc0' }));
      expect(conn.mechanism?.type).toBe('KERNEL');
      expect(linksOf(nsc.name)).toEqual([]);
      await fwd.close(ctx, conn);
      expect(endpoint.closes).toBe(1);
    });
  });
});

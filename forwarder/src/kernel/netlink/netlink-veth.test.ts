import { afterEach, describe, expect, it } from 'vitest';

import { openTestNamespace } from '../testing/netlink-fixture.js';
import { NamespaceFixture, ipJson, randomSuffix, succeedsIn } from '../testing/netns-fixture.js';
import { addAddressRequest } from './address-requests.js';
import { KernelError } from './errors.js';
import { addNeighborRequest } from './neighbor-requests.js';
import { addRouteRequest } from './route-requests.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/kernel/netlink/netlink-veth'), () => {
  interface IpLink {
    ifname: string;
    mtu: number;
    ifalias?: string;
    operstate: string;
    address: string;
  }
  interface IpAddr {
    addr_info: { family: string; local: string; prefixlen: number; tentative?: boolean }[];
  }
  interface IpRoute {
    dst: string;
    gateway?: string;
    scope?: string;
    flags: string[];
  }

  describe('Netlink: veth wires between namespaces', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    /** Two namespaces joined by a veth pair created in one step, peer born in the second. */
    async function wire() {
      const a = openTestNamespace(fx, 'a');
      const b = openTestNamespace(fx, 'b');
      const sfx = randomSuffix();
      const local = await a.nl.createVeth(`va${sfx}`, `vb${sfx}`, b.fd);
      const peer = await b.nl.getLink(`vb${sfx}`);
      return { a, b, sfx, local, peer };
    }

    it('creates, renames, configures and passes IPv4 and IPv6 traffic', async () => {
      const { a, b, sfx, local } = await wire();
      expect(local.kind).toBe('veth');
      await b.nl.setLink(`vb${sfx}`, { name: 'nsm0', mtu: 1450, alias: `conn-${sfx}`, up: true });
      await a.nl.setLink(local.index, { mtu: 1450, up: true });
      await a.nl.addAddress(local.index, '10.60.0.1/30');
      await a.nl.addAddress(local.index, 'fd60::1/64');
      const peer = await b.nl.getLink('nsm0');
      await b.nl.addAddress(peer.index, '10.60.0.2/30');
      await b.nl.addAddress(peer.index, 'fd60::2/64');
      await b.nl.addAddress(peer.index, '10.60.0.2/30'); // replace semantics: a refresh is not EEXIST

      const [link] = ipJson<IpLink[]>(b.name, 'link', 'show', 'nsm0');
      expect(link).toMatchObject({ ifname: 'nsm0', mtu: 1450, ifalias: `conn-${sfx}` });
      expect(peer).toMatchObject({ name: 'nsm0', mtu: 1450, alias: `conn-${sfx}`, up: true, kind: 'veth' });
      const [addr] = ipJson<IpAddr[]>(b.name, 'addr', 'show', 'nsm0');
      const global = addr?.addr_info.filter((i) => !i.local.startsWith('fe80')) ?? [];
      expect(global.map((i) => `${i.local}/${i.prefixlen}`).sort()).toEqual(['10.60.0.2/30', 'fd60::2/64']);
      expect(global.some((i) => i.tentative)).toBe(false); // NODAD: usable at once

      expect(succeedsIn(a.name, 'ping', '-c1', '-W1', '10.60.0.2')).toBe(true);
      expect(succeedsIn(a.name, 'ping', '-6', '-c1', '-W1', 'fd60::2')).toBe(true);
    });

    it('adds host routes, on-link routes via the peer and static neighbours in one batch', async () => {
      const { a, b, local, peer } = await wire();
      await b.nl.setLink(peer.index, { up: true });
      await b.nl.execute([
        addAddressRequest(peer.index, '172.30.0.2/32'),
        addRouteRequest({ dst: '172.30.0.1/32', ifindex: peer.index }),
      ]);
      const routes = [
        { dst: '172.30.0.2/32', ifindex: local.index },
        { dst: '10.99.0.0/16', gateway: '172.30.0.2', ifindex: local.index, onlink: true },
        { dst: 'fd61::/64', gateway: 'fd60::2', ifindex: local.index, onlink: true },
      ];
      await a.nl.setLink(local.index, { up: true });
      await a.nl.execute([
        addAddressRequest(local.index, '172.30.0.1/32'),
        ...routes.map(addRouteRequest),
        addNeighborRequest(local.index, '172.30.0.2', peer.mac ?? ''),
      ]);

      const v4 = ipJson<IpRoute[]>(a.name, 'route', 'show');
      expect(v4).toContainEqual(expect.objectContaining({ dst: '172.30.0.2', scope: 'link' }));
      expect(v4).toContainEqual(
        expect.objectContaining({ dst: '10.99.0.0/16', gateway: '172.30.0.2', flags: ['onlink'] }),
      );
      const v6 = ipJson<IpRoute[]>(a.name, '-6', 'route', 'show');
      expect(v6).toContainEqual(
        expect.objectContaining({ dst: 'fd61::/64', gateway: 'fd60::2', flags: ['onlink'] }),
      );
      const neigh = ipJson<{ dst: string; lladdr: string; state: string[] }[]>(a.name, 'neigh', 'show');
      expect(neigh).toContainEqual(
        expect.objectContaining({ dst: '172.30.0.2', lladdr: peer.mac, state: ['PERMANENT'] }),
      );
      expect(succeedsIn(a.name, 'ping', '-c1', '-W1', '172.30.0.2')).toBe(true);

      for (const r of routes) await a.nl.deleteRoute(r);
      await a.nl.deleteNeighbor(local.index, '172.30.0.2');
      await a.nl.deleteAddress(local.index, '172.30.0.1/32');
      expect(ipJson<IpRoute[]>(a.name, 'route', 'show')).toEqual([]);
      expect(ipJson<IpRoute[]>(a.name, '-6', 'route', 'show').filter((r) => r.dst === 'fd61::/64')).toEqual(
        [],
      );
      expect(ipJson<unknown[]>(a.name, 'neigh', 'show', 'to', '172.30.0.2')).toEqual([]);
    });

    it('finds links by alias and deletes both ends of a pair', async () => {
      const { a, b, sfx, local } = await wire();
      await a.nl.setLink(local.name, { alias: `conn-${sfx}` });
      const found = (await a.nl.listLinks()).filter((l) => l.alias === `conn-${sfx}`);
      expect(found).toEqual([
        expect.objectContaining({ index: local.index, name: `va${sfx}`, kind: 'veth', mtu: 1500 }),
      ]);
      expect((await a.nl.listLinks()).map((l) => l.name)).toContain('lo');

      await a.nl.deleteLink(local.index);
      expect(await a.nl.findLink(`va${sfx}`)).toBeUndefined();
      expect(await b.nl.findLink(`vb${sfx}`)).toBeUndefined();
      expect(ipJson<IpLink[]>(b.name, 'link', 'show').map((l) => l.ifname)).toEqual(['lo']);
    });

    it('names the failing message of a batch; the messages around it still apply', async () => {
      const { a, local } = await wire();
      const err: unknown = await a.nl
        .execute([
          addAddressRequest(local.index, '10.61.0.1/24'),
          addRouteRequest({ dst: '10.62.0.0/24', ifindex: 0x7ffffff0 }),
          addAddressRequest(local.index, '10.61.0.2/24'),
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KernelError);
      expect((err as KernelError).message).toMatch(
        /^addRoute\(10\.62\.0\.0\/24 dev 2147483632\) \(message 2 of 3\) failed: ENODEV/,
      );
      expect((err as KernelError).position).toEqual({ index: 1, count: 3 });
      const [addr] = ipJson<IpAddr[]>(a.name, 'addr', 'show', 'dev', local.name);
      expect(addr?.addr_info.map((i) => i.local)).toEqual(['10.61.0.1', '10.61.0.2']);
    });
  });
});

import { readdirSync, readlinkSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Code } from '@nsm-ts/sdk/core';
import { NamespaceFixture, type TestNamespace, ipIn, ipJson } from '../kernel/testing/netns-fixture.js';
import { arpInNamespace } from './arp.js';
import { isRoot, rejectionOf, rootTitle } from '@nsm-ts/sdk/testing';

/** The MAC of `dev` in `ns`, as iproute2 shows it. */
function macOf(ns: TestNamespace, dev: string): string {
  const [link] = ipJson<{ address: string }[]>(ns.name, 'link', 'show', 'dev', dev);
  if (!link) throw new Error(`no ${dev} in ${ns.name}`);
  return link.address;
}

/** The link-layer address `ns` has learned for `ip` on `dev`, if any. */
function neighbourOf(ns: TestNamespace, dev: string, ip: string): string | undefined {
  const [entry] = ipJson<{ lladdr?: string }[]>(ns.name, 'neigh', 'show', ip, 'dev', dev);
  return entry?.lladdr;
}

describe.skipIf(!isRoot)(rootTitle('forwarder/src/liveness/arp'), () => {
  const label = `prb${process.pid}`;

  describe('arpInNamespace over veth', () => {
    const fx = new NamespaceFixture();
    let a: TestNamespace;
    let b: TestNamespace;

    beforeAll(() => {
      a = fx.add(`${label}a`);
      b = fx.add(`${label}b`);
      // e0 ↔ e1 with addresses on both ends; bare0 ↔ bare1 with none on bare0; down0 ↔ down1 down.
      for (const [near, far] of [
        ['e0', 'e1'],
        ['bare0', 'bare1'],
        ['down0', 'down1'],
      ] as const) {
        ipIn(a.name, 'link', 'add', near, 'type', 'veth', 'peer', 'name', far, 'netns', b.name);
      }
      ipIn(a.name, 'addr', 'add', '10.80.0.1/24', 'dev', 'e0');
      ipIn(b.name, 'addr', 'add', '10.80.0.2/24', 'dev', 'e1');
      ipIn(b.name, 'addr', 'add', '10.81.0.2/24', 'dev', 'bare1');
      ipIn(b.name, 'addr', 'add', '10.84.0.2/24', 'dev', 'down1');
      for (const dev of ['e0', 'bare0']) ipIn(a.name, 'link', 'set', dev, 'up');
      for (const dev of ['e1', 'bare1', 'down1']) ipIn(b.name, 'link', 'set', dev, 'up');
    });
    afterAll(() => fx.cleanup());

    it("resolves the peer's MAC from the interface's own address, moving no thread", async () => {
      const own = readlinkSync('/proc/self/ns/net');
      const reply = await arpInNamespace(a.path, 'e0', '10.80.0.2', { timeoutMs: 1000 });
      expect(reply.mac).toBe(macOf(b, 'e1'));
      expect(reply.rttMs).toBeGreaterThan(0);
      expect(reply.rttMs).toBeLessThan(1000);
      // The peer learned the sender from the request: it came from e0's address and MAC.
      expect(neighbourOf(b, 'e1', '10.80.0.1')).toBe(macOf(a, 'e0'));
      const namespaces = new Set(
        readdirSync('/proc/self/task').map((t) => readlinkSync(`/proc/self/task/${t}/ns/net`)),
      );
      expect(namespaces).toEqual(new Set([own]));
    });

    it('sends from a given source address', async () => {
      const reply = await arpInNamespace(a.path, 'e0', '10.80.0.2', { sourceIp: '10.80.0.77' });
      expect(reply.mac).toBe(macOf(b, 'e1'));
      expect(neighbourOf(b, 'e1', '10.80.0.77')).toBe(macOf(a, 'e0'));
    });

    it('probes from 0.0.0.0 on an interface without an IPv4 address, and keeps concurrent requests apart', async () => {
      const [bare, addressed] = await Promise.all([
        arpInNamespace(a.path, 'bare0', '10.81.0.2'),
        arpInNamespace(a.path, 'e0', '10.80.0.2'),
      ]);
      expect(bare.mac).toBe(macOf(b, 'bare1'));
      expect(addressed.mac).toBe(macOf(b, 'e1'));
      expect(bare.mac).not.toBe(addressed.mac);
    });

    it('times out within about the timeout when nobody answers', async () => {
      const started = Date.now();
      const err = await rejectionOf(arpInNamespace(a.path, 'e0', '10.80.0.9', { timeoutMs: 200 }));
      const took = Date.now() - started;
      expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
      expect(err.message).toMatch(/^no ARP reply from 10\.80\.0\.9 on e0 within 200 ms/);
      expect(took).toBeGreaterThanOrEqual(190);
      expect(took).toBeLessThan(1000);
    });

    it('says which interface or namespace is missing, or that the link is down', async () => {
      const missing = await rejectionOf(arpInNamespace(a.path, 'nope0', '10.80.0.2'));
      expect(missing.code).toBe(Code.UNAVAILABLE);
      expect(missing.message).toMatch(/no interface "nope0" in \/run\/netns\/nsmt-prb.* to send ARP on/);
      const gone = await rejectionOf(arpInNamespace('/run/netns/nsmt-prb-none', 'e0', '10.80.0.2'));
      expect(gone.code).toBe(Code.UNAVAILABLE);
      expect(gone.message).toMatch(/cannot send ARP from \/run\/netns\/nsmt-prb-none: .*ENOENT/);
      const down = await rejectionOf(arpInNamespace(a.path, 'down0', '10.84.0.2', { sourceIp: '10.84.0.1' }));
      expect(down.code).toBe(Code.UNAVAILABLE);
      expect(down.message).toMatch(/down0 is down \(ENETDOWN\)/);
    });

    it('refuses what ARP cannot ask', async () => {
      const v6 = await rejectionOf(arpInNamespace(a.path, 'e0', 'fd80::2'));
      expect(v6.code).toBe(Code.INVALID_ARGUMENT);
      expect(v6.message).toMatch(/"fd80::2" is not an IPv4 address/);
      const source = await rejectionOf(arpInNamespace(a.path, 'e0', '10.80.0.2', { sourceIp: 'fd80::1' }));
      expect(source.code).toBe(Code.INVALID_ARGUMENT);
      for (const timeoutMs of [0, 60_001, Number.NaN]) {
        expect((await rejectionOf(arpInNamespace(a.path, 'e0', '10.80.0.2', { timeoutMs }))).code).toBe(
          Code.INVALID_ARGUMENT,
        );
      }
      const loopback = await rejectionOf(arpInNamespace(a.path, 'lo', '127.0.0.2'));
      expect(loopback.code).toBe(Code.INVALID_ARGUMENT);
      expect(loopback.message).toMatch(/not an Ethernet interface/);
    });
  });

  describe('arpInNamespace over VXLAN', () => {
    const fx = new NamespaceFixture();
    let node1: TestNamespace;
    let node2: TestNamespace;
    let pod: TestNamespace;

    beforeAll(() => {
      node1 = fx.add(`${label}n1`);
      node2 = fx.add(`${label}n2`);
      pod = fx.add(`${label}p`);
      ipIn(node1.name, 'link', 'add', 'fab0', 'type', 'veth', 'peer', 'name', 'fab1', 'netns', node2.name);
      ipIn(node1.name, 'addr', 'add', '10.82.0.1/24', 'dev', 'fab0');
      ipIn(node2.name, 'addr', 'add', '10.82.0.2/24', 'dev', 'fab1');
      ipIn(node1.name, 'link', 'set', 'fab0', 'up');
      ipIn(node2.name, 'link', 'set', 'fab1', 'up');
      // As the forwarder does: the device is made in the node, then moved into the pod; its UDP
      // socket stays in the node's namespace.
      const vxlan = (local: string, remote: string, dev: string) => [
        'type',
        'vxlan',
        'id',
        '4242',
        'local',
        local,
        'remote',
        remote,
        'dstport',
        '4789',
        'dev',
        dev,
        'nolearning',
      ];
      ipIn(node1.name, 'link', 'add', 'vx0', ...vxlan('10.82.0.1', '10.82.0.2', 'fab0'));
      ipIn(node1.name, 'link', 'set', 'vx0', 'netns', pod.name);
      ipIn(pod.name, 'addr', 'add', '10.83.0.1/24', 'dev', 'vx0');
      ipIn(pod.name, 'link', 'set', 'vx0', 'up');
      ipIn(node2.name, 'link', 'add', 'vx1', ...vxlan('10.82.0.2', '10.82.0.1', 'fab1'));
      ipIn(node2.name, 'addr', 'add', '10.83.0.2/24', 'dev', 'vx1');
      ipIn(node2.name, 'link', 'set', 'vx1', 'up');
    });
    afterAll(() => fx.cleanup());

    it('resolves the far end across the tunnel from inside the pod', async () => {
      // The pod holds only lo and the moved device: a reply can only come through the tunnel.
      expect(ipJson<{ ifname: string }[]>(pod.name, 'link', 'show').map((l) => l.ifname)).toEqual([
        'lo',
        'vx0',
      ]);
      const reply = await arpInNamespace(pod.path, 'vx0', '10.83.0.2', { timeoutMs: 2000 });
      expect(reply.mac).toBe(macOf(node2, 'vx1'));
      expect(neighbourOf(node2, 'vx1', '10.83.0.1')).toBe(macOf(pod, 'vx0'));
    });

    it('times out once the underlay is cut', async () => {
      ipIn(node2.name, 'link', 'set', 'fab1', 'down');
      const err = await rejectionOf(arpInNamespace(pod.path, 'vx0', '10.83.0.2', { timeoutMs: 300 }));
      expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
      expect(err.message).toMatch(/no ARP reply from 10\.83\.0\.2 on vx0 within 300 ms/);
    });
  });
});

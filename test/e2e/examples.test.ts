/**
 * The small examples end to end, as root, with the built `nsm` command: kernel2kernel (a local veth),
 * kernel2ethernet2kernel (VXLAN between two nodes) and secure-intranet (a chain through a firewall
 * passthrough to a VPN gateway). Each: up → check with the right peer and locality → a TCP transfer
 * both ways over the link → status gives namespace paths that nsenter can use → down leaves nothing.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counters, hostOf, interfaces, ipJson, statusJson, type StatusLink } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, nsm, testLabName } from '../harness/nsm-cli.js';
import { tcpEcho } from '../harness/tcp.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('test/e2e/examples'), () => {
  interface Example {
    dir: string;
    prefix: string;
    client: string;
    ifname: string;
    service: string;
    /** Endpoints on the path, the last one being the peer. */
    chain: string[];
    locality: 'local' | 'remote';
    /** The endpoint's address pool. */
    pool: RegExp;
  }

  const examples: Example[] = [
    {
      dir: 'deploy/examples/kernel2kernel',
      prefix: 'ex-k2k',
      client: 'nsc-kernel',
      ifname: 'nsm-1',
      service: 'kernel2kernel',
      chain: ['nse-kernel'],
      locality: 'local',
      pool: /^10\.70\.0\.\d+$/,
    },
    {
      dir: 'deploy/examples/kernel2ethernet2kernel',
      prefix: 'ex-k2e2k',
      client: 'nsc-kernel-remote',
      ifname: 'nsm-1',
      service: 'kernel2ethernet2kernel',
      chain: ['nse-kernel-remote'],
      locality: 'remote',
      pool: /^10\.70\.1\.\d+$/,
    },
    {
      dir: 'deploy/examples/secure-intranet',
      prefix: 'ex-intra',
      client: 'intranet-client',
      ifname: 'nsm-1',
      service: 'secure-intranet',
      chain: ['firewall', 'vpn-gateway'],
      locality: 'remote',
      pool: /^172\.16\.1\.([0-9]|1[0-5])$/,
    },
  ];

  const MB2 = 2 * 1024 * 1024;
  const nothingLeft = { namespaces: [], processes: [], stateDir: false };

  for (const ex of examples) {
    describe(ex.dir, () => {
      const lab = testLabName(ex.prefix);
      const peer = ex.chain.at(-1)!;
      let link: StatusLink;
      let nsOf: (pod: string) => string;

      beforeAll(async () => {
        const run = await nsm(lab, 'up', ex.dir, '--timeout', '60s');
        expect(run.code, run.stderr).toBe(0);
        const status = await statusJson(lab);
        nsOf = (pod) => status.pods.find((p) => p.name === pod)!.netns;
        expect(status.links).toHaveLength(1);
        link = status.links[0]!;
      }, 90_000);

      afterAll(async () => {
        await nsm(lab, 'down');
        expect(leftovers(lab)).toEqual(nothingLeft);
      }, 60_000);

      it(`passes nsm check: ${ex.client}/${ex.ifname} reaches ${peer} (${ex.locality})`, async () => {
        const result = await checkJson(lab);
        expect(result.links.map((l) => l.problems)).toEqual([[]]);
        expect(result.ok).toBe(true);
        expect(result.links[0]).toMatchObject({
          client: ex.client,
          clientInterface: ex.ifname,
          endpoint: peer,
          service: ex.service,
          locality: ex.locality,
          ok: true,
        });
        expect(link).toMatchObject({
          client: ex.client,
          clientInterface: ex.ifname,
          endpoint: peer,
          chain: ex.chain,
          service: ex.service,
          mechanism: 'KERNEL',
          locality: ex.locality,
          state: 'UP',
        });
        expect(hostOf(link.clientIps[0])).toMatch(ex.pool);
        expect(hostOf(link.endpointIps[0])).toMatch(ex.pool);
        expect(hostOf(link.clientIps[0])).not.toBe(hostOf(link.endpointIps[0]));
      }, 30_000);

      it('carries a TCP transfer both ways over the link', async () => {
        const client = { netns: nsOf(ex.client), ip: hostOf(link.clientIps[0]) };
        const endpoint = { netns: nsOf(peer), ip: hostOf(link.endpointIps[0]) };
        const before = counters(client.netns, ex.ifname);
        const there = await tcpEcho(endpoint, client, MB2);
        expect(there).toMatchObject({ sent: MB2, received: MB2, same: true });
        const back = await tcpEcho(client, endpoint, MB2);
        expect(back).toMatchObject({ sent: MB2, received: MB2, same: true });
        // 2 × 2 MB each way went through the mesh interface, not some other route.
        const after = counters(client.netns, ex.ifname);
        expect(after.tx - before.tx).toBeGreaterThanOrEqual(2 * MB2);
        expect(after.rx - before.rx).toBeGreaterThanOrEqual(2 * MB2);
      }, 60_000);

      it('nsm status --json gives namespace paths that exist and hold the link interfaces', async () => {
        const status = await statusJson(lab);
        expect(status.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2']);
        for (const thing of [...status.nodes, ...status.pods])
          expect(existsSync(thing.netns), thing.netns).toBe(true);
        const addrs = (pod: string, ifname: string): string[] =>
          ipJson(nsOf(pod), 'addr')
            .filter((l) => l.ifname === ifname)
            .flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local));
        expect(addrs(ex.client, link.clientInterface)).toEqual([hostOf(link.clientIps[0])]);
        expect(addrs(peer, link.endpointInterface)).toEqual([hostOf(link.endpointIps[0])]);
        expect(interfaces(nsOf(ex.client))).toEqual([ex.ifname]);
        expect(interfaces(nsOf(peer))).toEqual([link.endpointInterface]);
      }, 30_000);

      if (ex.chain.length > 1) {
        it('sends the traffic through the passthrough: its bridge joins two interfaces and counts the bytes', async () => {
          const middle = nsOf(ex.chain[0]!);
          const links = ipJson(middle, 'link');
          const bridges = links.filter((l) => l.linkinfo?.info_kind === 'bridge');
          expect(bridges).toHaveLength(1);
          const ports = links.filter((l) => l.master === bridges[0]!.ifname).map((l) => l.ifname);
          expect(ports).toHaveLength(2);
          const before = counters(middle, ports[0]!);
          await tcpEcho(
            { netns: nsOf(peer), ip: hostOf(link.endpointIps[0]) },
            { netns: nsOf(ex.client), ip: hostOf(link.clientIps[0]) },
            MB2,
          );
          const after = counters(middle, ports[0]!);
          expect(after.rx + after.tx - before.rx - before.tx).toBeGreaterThanOrEqual(2 * MB2);
          // One MTU along the chain: the client and both bridged sides take the smallest (the tunnel's
          // when a hop crosses nodes), so a full-size frame is never dropped inside the passthrough.
          const mtus = [
            ...links.filter((l) => ports.includes(l.ifname)).map((l) => l.mtu),
            ipJson(nsOf(ex.client), 'link').find((l) => l.ifname === ex.ifname)!.mtu,
          ];
          expect(new Set(mtus).size, JSON.stringify(mtus)).toBe(1);
        }, 60_000);
      }

      it('nsm down leaves no namespace, process or state, and a second down is fine', async () => {
        const run = await nsm(lab, 'down');
        expect(run.code, run.stderr).toBe(0);
        expect(leftovers(lab)).toEqual(nothingLeft);
        expect((await nsm(lab, 'down')).code).toBe(0);
      }, 60_000);
    });
  }
});

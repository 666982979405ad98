/**
 * A kernel client joined to an endpoint that serves memif, as root with real namespaces and the real
 * memif engine on the endpoint's side: on one node through a veth to the node and the packet loop
 * (the forwarder's loop is the memif client of the endpoint's socket), and across nodes with the
 * VXLAN device in the endpoint's node and the loop there. The client's kernel pings the endpoint's
 * address and the endpoint's memif answers; close removes everything.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { newMechanism } from '@nsm-ts/sdk/api';
import { Code, createContext, metadata, toHandler, type NetworkServiceElement } from '@nsm-ts/sdk/core';
import { begin, exposeNextHopMechanism, mechanisms, nextHopMechanism } from '@nsm-ts/sdk/elements';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { NamespaceFixture, randomSuffix } from '../kernel/testing/netns-fixture.js';
import { answerArpAndIcmp, createMemifServer, type MemifServer } from '../memif/index.js';
import { pingFrom } from '../memif/testing/wires.js';
import { createKernelDeps, type KernelDeps } from './deps.js';
import { kernelMechanism } from './kernel.js';
import { noopMechanism } from './noop.js';
import { TUNNEL_A, TUNNEL_B, twoNodes } from './testing/fabric.js';
import {
  NSE_IP,
  clientRequest,
  endpointDouble,
  forwarderChain,
  localOffer,
  rejectionOf,
  refreshOf,
  remoteHop,
  tunnelOffer,
} from './testing/harness.js';
import { addressesOf, linksOf } from './testing/inspect.js';

const ctx = createContext();

/** The links of this (the test's) namespace, where a forwarder without a node namespace builds. */
function hostLinksOf(connId: string): string[] {
  const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as {
    ifname: string;
    ifalias?: string;
  }[];
  return links.filter((l) => l.ifalias?.endsWith(connId)).map((l) => l.ifname);
}

function localChain(deps: KernelDeps, endpoint: NetworkServiceElement) {
  return toHandler([
    begin(),
    metadata('server'),
    exposeNextHopMechanism(),
    mechanisms({ KERNEL: kernelMechanism(deps), NOOP: noopMechanism() }),
    metadata('client'),
    nextHopMechanism(() => [newMechanism('KERNEL', 'LOCAL'), newMechanism('MEMIF', 'LOCAL')]),
    endpoint,
  ]);
}

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/memif-endpoint'), () => {
  const fx = new NamespaceFixture();
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    fx.cleanup();
  });

  async function deps(options: { nodeNs?: string; tunnelIp?: string } = {}): Promise<KernelDeps> {
    const d = await createKernelDeps({
      name: `fwd-${randomSuffix()}`,
      tunnelIp: options.tunnelIp ?? '',
      vxlanPort: 4789,
      ...(options.nodeNs ? { nodeNs: options.nodeNs } : {}),
      adopt: false,
    });
    closers.push(() => d.close());
    return d;
  }

  /** The endpoint pod's memif server on an abstract socket in its namespace, answering for NSE_IP. */
  function memifEndpoint(nsPath: string): { socket: string; server: MemifServer; icmp: () => number } {
    const socket = `@nsm-test-nse-${randomSuffix()}`;
    const server = createMemifServer({ socket, netns: nsPath });
    closers.push(() => server.close());
    const responder = answerArpAndIcmp(server.interface(0), { ip: `${NSE_IP}/32` });
    closers.push(() => responder.stop());
    return { socket, server, icmp: () => responder.stats().icmp };
  }

  it('joins a kernel client to a memif endpoint on its node: its kernel pings the memif; a refresh keeps the loop; close removes it', async () => {
    const nsc = fx.add('kc');
    const nse = fx.add('me');
    const memif = memifEndpoint(nse.path);
    const d = await deps();
    const fwd = localChain(d, endpointDouble({ nsPath: nse.path, memifSocket: memif.socket }));
    const connId = `km-${randomSuffix()}`;
    const conn = await fwd.request(ctx, clientRequest(connId, nsc.path, { name: 'nsm0' }));
    expect(conn.mechanism?.type).toBe('KERNEL');
    await memif.server.interface(0).waitUp();
    expect(linksOf(nsc.name).map((l) => l.ifname)).toEqual(['nsm0']);
    expect(hostLinksOf(connId)).toEqual([expect.stringMatching(/^mk-/)]);
    const ping = await pingFrom(nsc.name, NSE_IP, 5);
    expect(ping.received, ping.out).toBe(5);
    expect(memif.icmp()).toBe(5);
    // A refresh leaves the loop as it is: the memif stays up, no new link.
    let downs = 0;
    memif.server.interface(0).on('down', () => downs++);
    await fwd.request(ctx, refreshOf(conn));
    const again = await pingFrom(nsc.name, NSE_IP, 3);
    expect(again.received, again.out).toBe(3);
    expect(downs).toBe(0);
    await fwd.close(ctx, conn);
    expect(hostLinksOf(connId)).toEqual([]);
    expect(linksOf(nsc.name)).toEqual([]);
    await expect.poll(() => memif.server.interface(0).up).toBe(false);
  });

  it('joins a kernel client to a memif endpoint on another node: the VXLAN device in that node, the loop to the memif', async () => {
    const { nodeA, nodeB } = twoNodes(fx);
    const nsc = fx.add('kc');
    const nse = fx.add('me');
    const memif = memifEndpoint(nse.path);
    const depsA = await deps({ nodeNs: nodeA.path, tunnelIp: TUNNEL_A });
    const depsB = await deps({ nodeNs: nodeB.path, tunnelIp: TUNNEL_B });
    const fwdB = forwarderChain(
      depsB,
      localOffer,
      endpointDouble({ nsPath: nse.path, memifSocket: memif.socket }),
    );
    const fwdA = forwarderChain(depsA, tunnelOffer(TUNNEL_A), remoteHop(fwdB));
    const conn = await fwdA.request(ctx, clientRequest(`kv-${randomSuffix()}`, nsc.path, { name: 'nsm0' }));
    await memif.server.interface(0).waitUp();
    const tunnels = linksOf(nodeB.name).filter((l) => l.linkinfo?.info_kind === 'vxlan');
    expect(tunnels).toHaveLength(1);
    // The node's end carries no address: the endpoint's address is its memif's.
    expect(addressesOf(nodeB.name, tunnels[0]!.ifname)).toEqual([]);
    const ping = await pingFrom(nsc.name, NSE_IP, 5);
    expect(ping.received, ping.out).toBe(5);
    expect(memif.icmp()).toBe(5);
    await fwdA.close(ctx, conn);
    expect(linksOf(nodeB.name).map((l) => l.ifname)).toEqual(['fab0']);
    expect(linksOf(nsc.name)).toEqual([]);
    await expect.poll(() => memif.server.interface(0).up).toBe(false);
  });

  it("refuses an endpoint's memif socket given as a path, and leaves nothing behind", async () => {
    const nsc = fx.add('kc');
    const nse = fx.add('me');
    const d = await deps();
    const endpoint = endpointDouble({ nsPath: nse.path, memifSocket: '/run/nse/memif.sock' });
    const fwd = localChain(d, endpoint);
    const connId = `kp-${randomSuffix()}`;
    const err = await rejectionOf(fwd.request(ctx, clientRequest(connId, nsc.path, { name: 'nsm0' })));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('"/run/nse/memif.sock" is a path: expected an abstract socket');
    expect(endpoint.closes).toBe(1);
    expect(hostLinksOf(connId)).toEqual([]);
    expect(linksOf(nsc.name)).toEqual([]);
  });
});

/**
 * The MEMIF mechanism of the forwarder, as root, with real namespaces and the real memif engine on
 * the pods' side: a memif client pod reaches a kernel endpoint through a veth and the native packet
 * loop (ping from the endpoint's pod answered over memif), and a memif endpoint directly through the
 * control-message relay (frames both ways in one shared region); close removes everything.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { newMechanism, newRequest } from '@nsm-ts/sdk/api';
import { createContext, metadata, toHandler, type NetworkServiceElement } from '@nsm-ts/sdk/core';
import {
  begin,
  exposeNextHopMechanism,
  mechanisms,
  nextHopMechanism,
  type OfferFn,
} from '@nsm-ts/sdk/elements';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { NamespaceFixture, randomSuffix } from '../kernel/testing/netns-fixture.js';
import { answerArpAndIcmp, createMemifClient, createMemifServer } from '../memif/index.js';
import { pingFrom } from '../memif/testing/wires.js';
import { createKernelDeps, type KernelDeps } from './deps.js';
import { kernelMechanism } from './kernel.js';
import { memifMechanism, memifSocketOf, SOCKETFILE } from './memif.js';
import { noopMechanism } from './noop.js';
import { TUNNEL_A, TUNNEL_B, twoNodes } from './testing/fabric.js';
import {
  NSC_IP,
  endpointDouble,
  forwarderChain,
  localOffer,
  refreshOf,
  remoteHop,
  tunnelOffer,
  type EndpointDouble,
} from './testing/harness.js';
import { linksOf } from './testing/inspect.js';

const ctx = createContext();

function chain(deps: KernelDeps, offered: string | OfferFn, endpoint: NetworkServiceElement) {
  return toHandler([
    begin(),
    metadata('server'),
    exposeNextHopMechanism(),
    mechanisms({ KERNEL: kernelMechanism(deps), MEMIF: memifMechanism(deps), NOOP: noopMechanism() }),
    metadata('client'),
    nextHopMechanism(typeof offered === 'string' ? () => [newMechanism(offered, 'LOCAL')] : offered),
    endpoint,
  ]);
}

/** The links of this (the test's) namespace, where a forwarder without a node namespace builds. */
function linksOfHost(): { ifname: string; ifalias?: string }[] {
  return JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as {
    ifname: string;
    ifalias?: string;
  }[];
}

function memifRequest(connId: string, nsPath: string) {
  return newRequest({ id: connId, network_service: 'icmp-responder' }, [
    newMechanism('MEMIF', 'LOCAL', { inodeURL: `file://${nsPath}` }),
  ]);
}

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/memif'), () => {
  const fx = new NamespaceFixture();
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    fx.cleanup();
  });

  async function deps(): Promise<KernelDeps> {
    const d = await createKernelDeps({
      name: `fwd-${randomSuffix()}`,
      tunnelIp: '',
      vxlanPort: 4789,
      adopt: false,
    });
    closers.push(() => d.close());
    return d;
  }

  it('joins a memif client to a kernel endpoint: a veth, the packet loop, ping answered over memif; close removes it', async () => {
    const nsc = fx.add('mc');
    const nse = fx.add('me');
    const d = await deps();
    const endpoint: EndpointDouble = endpointDouble({ nsPath: nse.path, name: 'nse0' });
    const fwd = chain(d, 'KERNEL', endpoint);
    const req = memifRequest(`mk-${randomSuffix()}`, nsc.path);
    const conn = await fwd.request(ctx, req);
    expect(conn.mechanism?.type).toBe('MEMIF');
    const socket = conn.mechanism!.parameters[SOCKETFILE]!;
    expect(socket).toBe(memifSocketOf(conn.id));
    // The client pod's memif, as a CNF would open it: in its own namespace, on the socket the mechanism names.
    const client = createMemifClient({ socket, netns: nsc.path });
    closers.push(() => client.close());
    const responder = answerArpAndIcmp(client, { ip: `${NSC_IP}/32` });
    closers.push(() => responder.stop());
    await client.waitUp();
    expect(linksOf(nse.name).map((l) => l.ifname)).toEqual(['nse0']);
    const ping = await pingFrom(nse.name, NSC_IP, 5);
    expect(ping.received, ping.out).toBe(5);
    expect(responder.stats().icmp).toBe(5);
    // The endpoint's side is lost (its pod restarted, say): a refresh rebuilds the wire under the
    // same name, and the packet loop follows the new interface.
    const nodeSide = linksOfHost().find((l) => l.ifalias?.endsWith(conn.id))!;
    expect(nodeSide.ifname).toMatch(/^mk-/);
    execFileSync('ip', ['link', 'del', nodeSide.ifname]);
    await fwd.request(ctx, refreshOf(conn));
    const again = await pingFrom(nse.name, NSC_IP, 3);
    expect(again.received, again.out).toBe(3);
    await fwd.close(ctx, conn);
    expect(linksOfHost().filter((l) => l.ifalias?.endsWith(conn.id))).toEqual([]);
    await expect.poll(() => client.up).toBe(false);
    expect(linksOf(nse.name)).toEqual([]);
  });

  it('joins a memif client to a memif endpoint through the control-message relay: frames both ways', async () => {
    const nsc = fx.add('mc');
    const nse = fx.add('me');
    const d = await deps();
    const endpointSocket = `@nsm-test-nse-${randomSuffix()}`;
    const server = createMemifServer({ socket: endpointSocket, netns: nse.path });
    closers.push(() => server.close());
    const endpoint: NetworkServiceElement = {
      request: (_c, r) =>
        Promise.resolve({
          ...r.connection!,
          mechanism: newMechanism('MEMIF', 'LOCAL', {
            inodeURL: `file://${nse.path}`,
            [SOCKETFILE]: endpointSocket,
          }),
        }),
      close: () => Promise.resolve(),
    };
    const fwd = chain(d, 'MEMIF', endpoint);
    const conn = await fwd.request(ctx, memifRequest(`mm-${randomSuffix()}`, nsc.path));
    const client = createMemifClient({ socket: conn.mechanism!.parameters[SOCKETFILE]!, netns: nsc.path });
    closers.push(() => client.close());
    await client.waitUp();
    const atServer: Buffer[] = [];
    const atClient: Buffer[] = [];
    server.interface(0).on('frames', (f) => atServer.push(...f));
    client.on('frames', (f) => atClient.push(...f));
    const frame = (n: number) => Buffer.alloc(128, n);
    // The client is up when it hears CONNECTED; the endpoint's side may report up a moment later.
    await server.interface(0).waitUp();
    expect(client.send([frame(1), frame(2)])).toBe(2);
    expect(server.interface(0).send([frame(3)])).toBe(1);
    await expect.poll(() => [atServer.length, atClient.length]).toEqual([2, 1]);
    expect(atServer[1]!.equals(frame(2))).toBe(true);
    expect(atClient[0]!.equals(frame(3))).toBe(true);
    await fwd.close(ctx, conn);
    await expect.poll(() => client.up).toBe(false);
  });

  it('joins a memif client to a kernel endpoint on another node: a VXLAN device in the node and the packet loop', async () => {
    const { nodeA, nodeB } = twoNodes(fx);
    const nsc = fx.add('mc');
    const nse = fx.add('me');
    const nodeDeps = async (nodeNs: string, tunnelIp: string) => {
      const d = await createKernelDeps({
        name: `fwd-${randomSuffix()}`,
        tunnelIp,
        vxlanPort: 4789,
        nodeNs,
        adopt: false,
      });
      closers.push(() => d.close());
      return d;
    };
    const depsA = await nodeDeps(nodeA.path, TUNNEL_A);
    const depsB = await nodeDeps(nodeB.path, TUNNEL_B);
    const fwdB = forwarderChain(depsB, localOffer, endpointDouble({ nsPath: nse.path, name: 'nse0' }));
    const fwdA = chain(depsA, tunnelOffer(TUNNEL_A), remoteHop(fwdB));
    const conn = await fwdA.request(ctx, memifRequest(`mv-${randomSuffix()}`, nsc.path));
    const client = createMemifClient({ socket: conn.mechanism!.parameters[SOCKETFILE]!, netns: nsc.path });
    closers.push(() => client.close());
    const responder = answerArpAndIcmp(client, { ip: `${NSC_IP}/32` });
    closers.push(() => responder.stop());
    await client.waitUp();
    // The tunnel stays in the node, beside the fabric; the endpoint's side is in its pod.
    expect(linksOf(nodeA.name).filter((l) => l.linkinfo?.info_kind === 'vxlan')).toHaveLength(1);
    const ping = await pingFrom(nse.name, NSC_IP, 5);
    expect(ping.received, ping.out).toBe(5);
    // Answered over memif, not by the node: the node's end of the tunnel carries no address.
    expect(responder.stats().icmp).toBe(5);
    await fwdA.close(ctx, conn);
    expect(linksOf(nodeA.name).map((l) => l.ifname)).toEqual(['fab0']);
    expect(linksOf(nse.name)).toEqual([]);
  });

  it('refuses a MEMIF client without its namespace, naming what is missing', async () => {
    const d = await deps();
    const fwd = chain(d, 'KERNEL', endpointDouble({ nsPath: '/proc/self/ns/net' }));
    const req = newRequest({ id: 'x', network_service: 's' }, [newMechanism('MEMIF', 'LOCAL', {})]);
    await expect(fwd.request(ctx, req)).rejects.toThrow("the client's MEMIF mechanism has no inodeURL");
  });
});

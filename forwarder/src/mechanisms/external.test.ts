/**
 * Tunnels to an external VNF, as root: a client node and a "VNF host" (namespaces joined by a veth
 * fabric), the VNF's own VXLAN devices and address on the host, and the SDK's gateway element as the
 * next hop. The forwarder builds the device toward the VTEP into the client pod, checks the VNF
 * before it answers, reports DOWN with the reason once the VTEP stops answering, and refuses wrong
 * VNIs and a path with a smaller MTU with the reason, leaving nothing behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { externalVxlanEndpoint, parseExternalVxlan } from '@nsm-ts/sdk';
import type { ConnectionEvent } from '@nsm-ts/sdk/api';
import {
  begin,
  updatePath,
  exposeNextHopMechanism,
  mechanisms,
  monitorServer,
  ConnectionMonitor,
  nextHopMechanism,
} from '@nsm-ts/sdk/elements';
import { Code, createContext, metadata, toHandler } from '@nsm-ts/sdk/core';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { NamespaceFixture, ipIn, ipJson, randomSuffix, succeedsIn } from '../kernel/testing/netns-fixture.js';
import { createKernelDeps } from './deps.js';
import { kernelMechanism } from './kernel.js';
import { noopMechanism } from './noop.js';
import { forwarderOffer } from '../offer.js';
import { clientRequest, refreshOf, rejectionOf } from './testing/harness.js';
import { TUNNEL_A, TUNNEL_B, twoNodes } from './testing/fabric.js';
import { vxlanMechanism } from './vxlan.js';

const VNF_IP = '172.30.0.1';

interface Link {
  ifname: string;
  mtu: number;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; remote?: string; df?: string } };
}

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/external'), () => {
  const ctx = createContext();
  const fx = new NamespaceFixture();
  afterEach(() => fx.cleanup());

  /** The VNF host is node B: VXLAN devices for `vnis` in a bridge holding the VNF's address. */
  async function setup(url: string, vnis: number[] = [100], hostMtu?: number) {
    const { nodeA, nodeB } = twoNodes(fx);
    if (hostMtu) ipIn(nodeB.name, 'link', 'set', 'fab0', 'mtu', String(hostMtu));
    ipIn(nodeB.name, 'link', 'add', 'br-vnf', 'type', 'bridge');
    for (const vni of vnis) {
      ipIn(
        nodeB.name,
        'link',
        'add',
        `vx${vni}`,
        'type',
        'vxlan',
        'id',
        String(vni),
        'local',
        TUNNEL_B,
        'dstport',
        '4789',
        'learning',
      );
      ipIn(nodeB.name, 'link', 'set', `vx${vni}`, 'master', 'br-vnf', 'up');
    }
    ipIn(nodeB.name, 'addr', 'add', `${VNF_IP}/24`, 'dev', 'br-vnf');
    ipIn(nodeB.name, 'link', 'set', 'br-vnf', 'up');
    const pod = fx.add('pod');
    const deps = await createKernelDeps({
      name: `fwd-ext-${randomSuffix()}`,
      tunnelIp: TUNNEL_A,
      vxlanPort: 4789,
      nodeNs: nodeA.path,
    });
    fx.defer(() => deps.close());
    const monitor = new ConnectionMonitor();
    const events: ConnectionEvent[] = [];
    const sub = monitor.stream({ path_segments: [], network_services: [] }).subscribe((e) => events.push(e));
    fx.defer(() => sub.unsubscribe());
    const fwd = toHandler([
      updatePath('forwarder-a'),
      begin(),
      metadata('server'),
      monitorServer(monitor),
      exposeNextHopMechanism(),
      mechanisms({ KERNEL: kernelMechanism(deps), VXLAN: vxlanMechanism(deps), NOOP: noopMechanism() }),
      metadata('client'),
      // The forwarder's own offer: it names the VNIs found taken on this node.
      nextHopMechanism(forwarderOffer({ tunnelIp: TUNNEL_A, vxlanPort: 4789, localTypes: ['KERNEL'] })),
      mechanisms({ VXLAN: externalVxlanEndpoint('vnf', parseExternalVxlan(url)) }),
    ]);
    return { nodeA, nodeB, pod, deps, fwd, events };
  }

  const linkIn = (ns: string, name: string): Link | undefined =>
    ipJson<Link[]>(ns, '-d', 'link', 'show').find((l) => l.ifname === name);

  it('builds the tunnel to the VTEP into the pod (outer DF set), after the VNF answered', async () => {
    const { pod, nodeA, fwd } = await setup(`vxlan://${TUNNEL_B}?vni=100&ip=${VNF_IP}/24`);
    const conn = await fwd.request(ctx, clientRequest('ext-1', pod.path, { name: 'nsm-ext' }));
    expect(conn.context?.ip_context?.src_ip_addrs).toEqual(['172.30.0.2/24']);
    const dev = linkIn(pod.name, 'nsm-ext');
    expect(dev).toMatchObject({
      mtu: 1450,
      linkinfo: { info_kind: 'vxlan', info_data: { id: 100, remote: TUNNEL_B, df: 'set' } },
    });
    expect(succeedsIn(pod.name, 'ping', '-c', '1', '-W', '1', '-M', 'do', '-s', '1422', VNF_IP)).toBe(true);
    await fwd.close(ctx, conn);
    expect(linkIn(pod.name, 'nsm-ext')).toBeUndefined();
    expect(ipJson<Link[]>(nodeA.name, 'link', 'show').map((l) => l.ifname)).not.toContain('nsm-ext');
  });

  it('reports the connection DOWN with the reason when the VTEP stops answering, and checks again on the heal', async () => {
    const { pod, nodeB, fwd, events } = await setup(`vxlan://${TUNNEL_B}?vni=100&ip=${VNF_IP}/24`);
    const conn = await fwd.request(ctx, clientRequest('ext-2', pod.path, { name: 'nsm-ext' }));
    ipIn(nodeB.name, 'link', 'set', 'fab0', 'down');
    const deadline = Date.now() + 10_000;
    let down: ConnectionEvent | undefined;
    while (!down && Date.now() < deadline) {
      down = events.find((e) => Object.values(e.connections).some((c) => c.state === 'DOWN'));
      await new Promise((r) => setTimeout(r, 100));
    }
    const reported = Object.values(down?.connections ?? {})[0];
    expect(reported?.id).toBe('ext-2');
    const own = reported?.path?.path_segments.find((s) => s.name === 'forwarder-a');
    const reason = own?.metrics['down_reason'] ?? '';
    expect(reason).toContain(`external VNF vnf (${VNF_IP}) over VXLAN VNI 100 to VTEP ${TUNNEL_B}:4789`);
    expect(reason).toContain('does not answer ping from this node: it is unreachable');
    // The heal's request checks again, and fails with the reason, leaving the pod without a device.
    const err = await rejectionOf(fwd.request(ctx, refreshOf(conn)));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toContain('no reply to 3 ARP requests of 250 ms');
    expect(linkIn(pod.name, 'nsm-ext')).toBeUndefined();
    ipIn(nodeB.name, 'link', 'set', 'fab0', 'up');
    const healed = await fwd.request(ctx, clientRequest('ext-2', pod.path, { name: 'nsm-ext' }));
    expect(healed.context?.ip_context?.src_ip_addrs).toEqual(['172.30.0.2/24']);
    expect(linkIn(pod.name, 'nsm-ext')).toBeDefined();
    await fwd.close(ctx, healed);
  }, 30_000);

  it('refuses a VNI the VNF does not have, naming it, and leaves nothing behind', async () => {
    const { pod, fwd } = await setup(`vxlan://${TUNNEL_B}?vni=200&ip=${VNF_IP}/24`);
    const err = await rejectionOf(fwd.request(ctx, clientRequest('ext-3', pod.path, { name: 'nsm-ext' })));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toContain(
      `the VTEP ${TUNNEL_B} answers ping, but nothing answers ARP for ${VNF_IP} on VNI 200`,
    );
    expect(linkIn(pod.name, 'nsm-ext')).toBeUndefined();
  });

  it('refuses a path that carries less than the tunnel MTU, saying how much it carries', async () => {
    const { pod, fwd } = await setup(`vxlan://${TUNNEL_B}?vni=100&ip=${VNF_IP}/24`, [100], 1400);
    const err = await rejectionOf(fwd.request(ctx, clientRequest('ext-4', pod.path, { name: 'nsm-ext' })));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toMatch(
      /MTU mismatch: a 1450-byte packet \(the tunnel's MTU\) is lost while small ones pass; the largest that passes is about 13[0-5]\d bytes/,
    );
    expect(linkIn(pod.name, 'nsm-ext')).toBeUndefined();
    // Declared, the smaller MTU works.
    const { pod: pod2, fwd: fwd2 } = await setup(
      `vxlan://${TUNNEL_B}?vni=100&ip=${VNF_IP}/24&mtu=1350`,
      [100],
      1400,
    );
    const conn = await fwd2.request(ctx, clientRequest('ext-5', pod2.path, { name: 'nsm-ext' }));
    expect(linkIn(pod2.name, 'nsm-ext')?.mtu).toBe(1350);
    await fwd2.close(ctx, conn);
  }, 30_000);

  it('takes the next VNI of the range when this node already has a device on the first', async () => {
    const { pod, nodeA, fwd } = await setup(`vxlan://${TUNNEL_B}?vni=100-101&ip=${VNF_IP}/24`, [100, 101]);
    ipIn(
      nodeA.name,
      'link',
      'add',
      'vxtaken',
      'type',
      'vxlan',
      'id',
      '100',
      'local',
      TUNNEL_A,
      'remote',
      '192.0.2.1',
      'dstport',
      '4789',
    );
    const conn = await fwd.request(ctx, clientRequest('ext-6', pod.path, { name: 'nsm-ext' }));
    expect(linkIn(pod.name, 'nsm-ext')?.linkinfo?.info_data?.id).toBe(101);
    expect(conn.context?.ip_context?.src_ip_addrs).toEqual(['172.30.0.3/24']);
    await fwd.close(ctx, conn);
  });
});

/**
 * Where the time of a wire goes: the steps our forwarder takes (netlink sockets opened in pods, link
 * creation, the namespace move, per-pod configuration batches), replayed one at a time with the
 * forwarder's own netlink layer, next to the steps of the `ip` script (the bare cost of one
 * `ip -n <ns> -batch -` exec, then each real batch). Medians over a few rounds; for notes, not bars.
 */
import { closeSync } from 'node:fs';
import { addAddressRequest } from '@nsm-ts/forwarder/kernel';
import { s32Attr } from '@nsm-ts/forwarder/kernel';
import { IFLA } from '@nsm-ts/forwarder/kernel';
import {
  createVethRequest,
  createVxlanRequest,
  getLinkRequest,
  setLinkRequest,
} from '@nsm-ts/forwarder/kernel';
import { parseLink } from '@nsm-ts/forwarder/kernel';
import { Netlink } from '@nsm-ts/forwarder/kernel';
import { addRouteRequest } from '@nsm-ts/forwarder/kernel';
import { openNamespaceFd } from '@nsm-ts/forwarder/kernel';
import { percentile } from '../result.js';
import { ipBatch } from './namespaces.js';
import { NSC_IF, NSC_IP, NSE_IF, NSE_IP, TUNNEL_A, TUNNEL_B, type Topology } from './wires.js';

/** Median milliseconds per step name. */
export type Breakdown = Map<string, number>;

class Steps {
  private readonly samples = new Map<string, number[]>();
  private last = process.hrtime.bigint();
  start(): void {
    this.last = process.hrtime.bigint();
  }
  /** Records the time since the previous mark under `name`. */
  mark(name: string): void {
    const now = process.hrtime.bigint();
    const list = this.samples.get(name) ?? [];
    list.push(Number(now - this.last) / 1e6);
    this.samples.set(name, list);
    this.last = now;
  }
  medians(): Breakdown {
    return new Map([...this.samples].map(([k, v]) => [k, percentile(v, 50)]));
  }
}

const configure = (index: number, own: string, peer: string) => [
  addAddressRequest(index, `${own}/32`),
  addRouteRequest({ dst: `${peer}/32`, ifindex: index, scope: 'link' }),
];

async function vethSteps(t: Topology, s: Steps): Promise<void> {
  s.start();
  const nsc = Netlink.open(t.nsc.path);
  const nse = Netlink.open(t.nse.path);
  s.mark('ours: open a netlink socket in each pod (2)');
  const fd = openNamespaceFd(t.nse.path);
  const [, , got] = await nsc.execute([
    createVethRequest('bk0', 'bk1', fd),
    setLinkRequest('bk0', { alias: 'bench' }),
    getLinkRequest('bk0'),
  ]);
  closeSync(fd);
  const link = parseLink(got![0]!.payload);
  s.mark('ours: create the veth pair, peer born in the endpoint pod (1 batch)');
  await nsc.execute([
    setLinkRequest(link.index, { name: NSC_IF, up: true }),
    ...configure(link.index, NSC_IP, NSE_IP),
  ]);
  s.mark('ours: rename, up, address, route in the client pod (1 batch)');
  await nse.execute([
    setLinkRequest(link.link!, { name: NSE_IF, up: true }),
    ...configure(link.link!, NSE_IP, NSC_IP),
  ]);
  s.mark('ours: the same in the endpoint pod (1 batch)');
  nsc.close();
  nse.close();
  s.mark('ours: close the pod sockets');
  await cleanupLinks(t);
}

async function vxlanSteps(t: Topology, s: Steps, node: Netlink): Promise<void> {
  s.start();
  const [, , got] = await node.execute([
    createVxlanRequest({
      name: 'bk0',
      vni: 4002,
      local: TUNNEL_A,
      remote: TUNNEL_B,
      dstPort: 4789,
      mtu: 1450,
    }),
    setLinkRequest('bk0', { alias: 'bench' }),
    getLinkRequest('bk0'),
  ]);
  const index = parseLink(got![0]!.payload).index;
  s.mark('ours: create the VXLAN device in the node (1 batch)');
  const fd = openNamespaceFd(t.nsc.path);
  await node.execute([setLinkRequest(index, { nsFd: fd, name: NSC_IF, up: true, newIndex: index })]);
  closeSync(fd);
  s.mark('ours: move it into the pod, renamed and up');
  const pod = Netlink.open(t.nsc.path);
  s.mark('ours: open a netlink socket in the pod');
  await pod.execute(configure(index, NSC_IP, NSE_IP));
  s.mark('ours: address and route in the pod (1 batch)');
  pod.close();
  await cleanupLinks(t);
  await vxlanDirect(t, s, node);
}

/**
 * Not what the forwarder does today: the device created straight in the pod (IFLA_NET_NS_FD on the
 * create request). Its UDP socket still lives in the node namespace the request came from, and no
 * namespace move (the expensive step) happens.
 */
async function vxlanDirect(t: Topology, s: Steps, node: Netlink): Promise<void> {
  s.start();
  const fd = openNamespaceFd(t.nsc.path);
  const create = createVxlanRequest({
    name: 'bk0',
    vni: 4002,
    local: TUNNEL_A,
    remote: TUNNEL_B,
    dstPort: 4789,
    mtu: 1450,
  });
  await node.execute([{ ...create, attrs: [...create.attrs, s32Attr(IFLA.NET_NS_FD, fd)] }]);
  closeSync(fd);
  const pod = Netlink.open(t.nsc.path);
  const [, got] = await pod.execute([
    setLinkRequest('bk0', { alias: 'bench', up: true }),
    getLinkRequest('bk0'),
  ]);
  const index = parseLink(got![0]!.payload).index;
  await pod.execute(configure(index, NSC_IP, NSE_IP));
  pod.close();
  s.mark('alternative (not built today): create the device straight in the pod, then configure it there');
  await cleanupLinks(t);
}

function scriptSteps(t: Topology, s: Steps): void {
  s.start();
  ipBatch(t.nsc.name, []);
  s.mark('script: one ip -n <pod> -batch - doing nothing (exec + setns)');
  if (t.kind === 'local') {
    ipBatch(t.nsc.name, [`link add ${NSC_IF} type veth peer name ${NSE_IF} netns ${t.nse.name}`]);
    s.mark('script: ip exec creating the veth pair');
    ipBatch(t.nse.name, [
      `link set ${NSE_IF} up`,
      `addr add ${NSE_IP}/32 dev ${NSE_IF}`,
      `route add ${NSC_IP}/32 dev ${NSE_IF} scope link`,
    ]);
    s.mark('script: ip exec configuring one pod');
  } else {
    ipBatch(t.nodeA.name, [
      `link add ${NSC_IF} mtu 1450 type vxlan id 4002 local ${TUNNEL_A} remote ${TUNNEL_B} dstport 4789 nolearning`,
    ]);
    s.mark('script: ip exec creating the VXLAN device');
    ipBatch(t.nodeA.name, [`link set ${NSC_IF} netns ${t.nsc.name}`]);
    s.mark('script: ip exec moving it into the pod');
    ipBatch(t.nsc.name, [`link del ${NSC_IF}`]);
    s.start();
    ipBatch(t.nodeA.name, [
      `link add ${NSC_IF} netns ${t.nsc.name} mtu 1450 type vxlan id 4002 local ${TUNNEL_A} remote ${TUNNEL_B} dstport 4789 nolearning`,
    ]);
    s.mark('alternative script: ip exec creating it straight in the pod (link add ... netns <pod>)');
  }
}

async function cleanupLinks(t: Topology): Promise<void> {
  for (const ns of [t.nsc, t.nse]) {
    const nl = Netlink.open(ns.path);
    try {
      for (const l of await nl.listLinks())
        if (l.name !== 'lo') await nl.deleteLink(l.index).catch(() => undefined);
    } finally {
      nl.close();
    }
  }
}

/** Replays the steps of both builds `rounds` times on the (empty) pods of `t`; medians per step. */
export async function breakdown(t: Topology, rounds = 15): Promise<Breakdown> {
  const s = new Steps();
  const node = t.kind === 'remote' ? Netlink.open(t.nodeA.path) : undefined;
  try {
    for (let i = 0; i < rounds; i++) {
      if (node) await vxlanSteps(t, s, node);
      else await vethSteps(t, s);
      scriptSteps(t, s);
      await cleanupLinks(t);
    }
  } finally {
    node?.close();
    await cleanupLinks(t);
  }
  return s.medians();
}

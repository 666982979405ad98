/**
 * The wires the data-plane benchmarks build, twice over: by our forwarder's mechanism elements (the
 * real `kernelMechanism`/`vxlanMechanism` in a cut-down forwarder chain with an endpoint test double,
 * as the forwarder's own tests drive them), and by a hand-written batched `ip` script that makes the
 * same interfaces (names, addresses, routes, alias, MTU, VXLAN options) with one `ip -n <ns> -batch -`
 * per namespace. Pods and nodes are namespaces of a {@link BenchNamespaces}.
 */
import type { Connection } from '@nsm-ts/sdk/api';
import type { NetworkServiceHandler } from '@nsm-ts/sdk/core';
import { createContext } from '@nsm-ts/sdk/core';
import { formatAlias } from '@nsm-ts/forwarder/mechanisms';
import { type KernelDeps, createKernelDeps } from '@nsm-ts/forwarder/mechanisms';
import {
  NSC_IP,
  NSE_IP,
  clientRequest,
  endpointDouble,
  forwarderChain,
  localOffer,
  remoteHop,
  tunnelOffer,
} from '@nsm-ts/forwarder/testing';
import { type BenchNs, type BenchNamespaces, ipBatch, ipJson } from './namespaces.js';

export { NSC_IP, NSE_IP };

/** Tunnel IPs of the two emulated nodes on their veth fabric (addresses inside our own namespaces). */
export const TUNNEL_A = '192.168.77.1';
export const TUNNEL_B = '192.168.77.2';
/** Interface names in the client and endpoint pods. */
export const NSC_IF = 'nsc0';
export const NSE_IF = 'nse0';
const VXLAN_PORT = 4789;
/** The VNI of the hand-built tunnel (ours picks its own, even by the parity rule). */
const SCRIPT_VNI = 4000;

/** Pods, nodes and our forwarder chain for one kind of wire. */
export interface Topology {
  readonly kind: 'local' | 'remote';
  readonly nsc: BenchNs;
  readonly nse: BenchNs;
  readonly nodeA: BenchNs;
  /** Only for `remote`. */
  readonly nodeB?: BenchNs;
  /** The client node's forwarder (for `remote` it reaches node B's through an in-process hop). */
  readonly fwd: NetworkServiceHandler;
  readonly ownerA: string;
  readonly ownerB: string;
  /** MTU both builds give the pod interfaces (undefined: the kernel default, 1500). */
  readonly mtu: number | undefined;
}

async function deps(
  nss: BenchNamespaces,
  owner: string,
  node: BenchNs,
  tunnelIp: string,
): Promise<KernelDeps> {
  const d = await createKernelDeps({
    name: owner,
    tunnelIp,
    vxlanPort: VXLAN_PORT,
    nodeNs: node.path,
    adopt: false,
  });
  nss.defer(() => d.close());
  return d;
}

/** Creates the namespaces (and for `remote` the veth fabric between two nodes) and our forwarder(s). */
export async function createTopology(nss: BenchNamespaces, kind: 'local' | 'remote'): Promise<Topology> {
  const nodeA = nss.add(`${kind[0]}na`);
  const nsc = nss.add(`${kind[0]}c`);
  const nse = nss.add(`${kind[0]}e`);
  const ownerA = `bench-fwd-a`;
  const ownerB = `bench-fwd-b`;
  const endpoint = endpointDouble({ nsPath: nse.path, name: NSE_IF });
  if (kind === 'local') {
    const fwd = forwarderChain(await deps(nss, ownerA, nodeA, ''), localOffer, endpoint);
    return { kind, nsc, nse, nodeA, fwd, ownerA, ownerB: ownerA, mtu: undefined };
  }
  const nodeB = nss.add('rnb');
  ipBatch(nodeA.name, [`link add fab0 type veth peer name fab0 netns ${nodeB.name}`]);
  for (const [node, addr] of [
    [nodeA, TUNNEL_A],
    [nodeB, TUNNEL_B],
  ] as const)
    ipBatch(node.name, [`addr add ${addr}/24 dev fab0`, 'link set fab0 up']);
  const fwdB = forwarderChain(await deps(nss, ownerB, nodeB, TUNNEL_B), localOffer, endpoint);
  const fwd = forwarderChain(
    await deps(nss, ownerA, nodeA, TUNNEL_A),
    tunnelOffer(TUNNEL_A, VXLAN_PORT),
    remoteHop(fwdB),
  );
  return { kind, nsc, nse, nodeA, nodeB, fwd, ownerA, ownerB, mtu: 1450 };
}

/** Builds and removes one wire of a topology; `build` resolves once both pods' interfaces are up and addressed. */
export interface WireBuilder {
  readonly label: string;
  build(id: string): Promise<void>;
  teardown(): Promise<void>;
}

/** Our forwarder: a client request through the mechanism elements; teardown is the connection's close. */
export function forwarderBuilder(t: Topology): WireBuilder {
  const ctx = createContext();
  let conn: Connection | undefined;
  return {
    label: 'forwarder',
    async build(id) {
      conn = await t.fwd.request(ctx, clientRequest(id, t.nsc.path, { name: NSC_IF }));
    },
    async teardown() {
      if (conn) await t.fwd.close(ctx, conn);
      conn = undefined;
    },
  };
}

/** The pod's half of the script: alias, MTU, up, address, host route to the peer. */
function podLines(
  ifname: string,
  alias: string,
  mtu: number | undefined,
  own: string,
  peer: string,
): string[] {
  return [
    `link set ${ifname} alias ${alias}${mtu ? ` mtu ${mtu}` : ''} up`,
    `addr add ${own}/32 dev ${ifname}`,
    `route add ${peer}/32 dev ${ifname} scope link`,
  ];
}

/**
 * The node's half of a VXLAN wire: create the device, then move it into the pod — or, `direct`,
 * create it straight in the pod (`link add ... netns <pod>`; its UDP socket still lives in the node).
 */
function vxlanLines(
  ifname: string,
  pod: string,
  local: string,
  remote: string,
  mtu: number,
  direct: boolean,
): string[] {
  const create = `type vxlan id ${SCRIPT_VNI} local ${local} remote ${remote} dstport ${VXLAN_PORT} nolearning`;
  return direct
    ? [`link add ${ifname} netns ${pod} mtu ${mtu} ${create}`]
    : [`link add ${ifname} mtu ${mtu} ${create}`, `link set ${ifname} netns ${pod}`];
}

/**
 * The hand-written script: one `ip -n <ns> -batch -` per namespace, run in order as a shell script
 * would. With `direct`, a VXLAN device is created in its pod rather than created and moved there.
 */
export function scriptBuilder(t: Topology, options: { direct?: boolean } = {}): WireBuilder {
  const direct = options.direct ?? false;
  const { nsc, nse } = t;
  return {
    label: direct ? 'ip -batch script, devices created in the pods' : 'ip -batch script',
    async build(id) {
      const aliasA = formatAlias(t.ownerA, id);
      if (t.kind === 'local') {
        ipBatch(nsc.name, [
          `link add ${NSC_IF} type veth peer name ${NSE_IF} netns ${nse.name}`,
          ...podLines(NSC_IF, aliasA, t.mtu, NSC_IP, NSE_IP),
        ]);
        ipBatch(nse.name, podLines(NSE_IF, aliasA, t.mtu, NSE_IP, NSC_IP));
      } else {
        const mtu = t.mtu ?? 1450;
        ipBatch(t.nodeB!.name, vxlanLines(NSE_IF, nse.name, TUNNEL_B, TUNNEL_A, mtu, direct));
        ipBatch(nse.name, podLines(NSE_IF, formatAlias(t.ownerB, `${id}@remote`), undefined, NSE_IP, NSC_IP));
        ipBatch(t.nodeA.name, vxlanLines(NSC_IF, nsc.name, TUNNEL_A, TUNNEL_B, mtu, direct));
        ipBatch(nsc.name, podLines(NSC_IF, aliasA, undefined, NSC_IP, NSE_IP));
      }
      return Promise.resolve();
    },
    teardown() {
      ipBatch(nsc.name, [`link del ${NSC_IF}`]);
      if (t.kind === 'remote') ipBatch(nse.name, [`link del ${NSE_IF}`]);
      return Promise.resolve();
    },
  };
}

interface AddrEntry {
  ifname: string;
  flags: string[];
  mtu: number;
  addr_info: { local: string; prefixlen: number; scope: string }[];
}

/** Throws unless both pods have their interface up with their /32 (checked with `ip`, outside any timing). */
export function verifyWire(t: Topology): void {
  for (const [ns, ifname, addr] of [
    [t.nsc, NSC_IF, NSC_IP],
    [t.nse, NSE_IF, NSE_IP],
  ] as const) {
    const [entry] = ipJson<AddrEntry[]>(ns.name, 'addr', 'show', 'dev', ifname);
    const ok =
      entry?.flags.includes('UP') && entry.addr_info.some((a) => a.local === addr && a.prefixlen === 32);
    if (!ok) throw new Error(`${ns.name}: ${ifname} is not up with ${addr}/32: ${JSON.stringify(entry)}`);
  }
}

/** Throws unless the pods hold no interface but loopback (after a teardown). */
export function verifyEmpty(t: Topology): void {
  for (const ns of [t.nsc, t.nse]) {
    const links = ipJson<{ ifname: string }[]>(ns.name, 'link', 'show').filter((l) => l.ifname !== 'lo');
    if (links.length > 0) throw new Error(`${ns.name} still holds ${links.map((l) => l.ifname).join(', ')}`);
  }
}

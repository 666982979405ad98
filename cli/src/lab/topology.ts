/**
 * The lab's network: a fabric namespace holding a bridge, one namespace per node joined to it by a
 * veth (the node's `eth0` carries its tunnel IP), and one namespace per pod.
 */
import { createHash } from 'node:crypto';
import { FABRIC_PREFIX, type Lab } from './lab.js';
import { ipBatch, listNetns } from './system.js';

/** The tunnel IP of node number `index` (1-based). */
export function tunnelIp(index: number): string {
  return `${FABRIC_PREFIX}.${10 + index}`;
}

/** The registry's address on the fabric. */
export const REGISTRY_IP = `${FABRIC_PREFIX}.1`;

/**
 * The physical network the lab's emulated SR-IOV NICs are cabled to: a bridge in the fabric
 * namespace, apart from the nodes' own network (br0). VFs of every node meet on it.
 */
export const PHYSNET_BRIDGE = 'phys0';

/** Creates the fabric and the nodes; with `physnet`, the bridge emulated NICs are cabled to. */
export async function createFabric(lab: Lab, nodes: string[], o: { physnet?: boolean } = {}): Promise<void> {
  const fabric = lab.netns('fabric');
  await ipBatch([fabric, ...nodes.map((n) => lab.netns(n))].map((ns) => `netns add ${ns}`));
  await ipBatch(
    [
      'link set lo up',
      'link add br0 type bridge',
      `addr add ${REGISTRY_IP}/24 dev br0`,
      'link set br0 up',
      ...(o.physnet ? [`link add ${PHYSNET_BRIDGE} type bridge`, `link set ${PHYSNET_BRIDGE} up`] : []),
      ...nodes.flatMap((node, i) => [
        `link add n${i + 1} type veth peer name eth0 netns ${lab.netns(node)}`,
        `link set n${i + 1} master br0 up`,
      ]),
    ],
    { netns: fabric },
  );
  await Promise.all(
    nodes.map((node, i) =>
      ipBatch(['link set lo up', `addr add ${tunnelIp(i + 1)}/24 dev eth0`, 'link set eth0 up'], {
        netns: lab.netns(node),
      }),
    ),
  );
}

/** Creates the namespace of each pod. */
export async function createPodNamespaces(lab: Lab, pods: string[]): Promise<void> {
  await ipBatch(pods.map((pod) => `netns add ${lab.netns(pod)}`));
  await Promise.all(pods.map((pod) => ipBatch(['link set lo up'], { netns: lab.netns(pod) })));
}
/** A fabric host to cable to the fabric: its pod namespace gets `eth0` with this address. */
export interface HostCable {
  name: string;
  address: string;
  mtu?: number;
}

/** The fabric end of a host's cable: named after the host, so hosts added later never collide. */
export function hostPort(name: string): string {
  return `h-${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
}

/**
 * Cables each fabric host to the fabric bridge: a veth whose `eth0` end is in the host's namespace
 * with its address (and MTU, both ends, when given), as a machine plugged into the nodes' network.
 */
export async function cableHosts(lab: Lab, hosts: readonly HostCable[]): Promise<void> {
  if (hosts.length === 0) return;
  const mtu = (h: HostCable): string => (h.mtu ? ` mtu ${h.mtu}` : '');
  await ipBatch(
    hosts.flatMap((h) => [
      `link add ${hostPort(h.name)}${mtu(h)} type veth peer name eth0${mtu(h)} netns ${lab.netns(h.name)}`,
      `link set ${hostPort(h.name)} master br0 up`,
    ]),
    { netns: lab.netns('fabric') },
  );
  await Promise.all(
    hosts.map((h) =>
      ipBatch([`addr add ${h.address} dev eth0`, 'link set eth0 up'], { netns: lab.netns(h.name) }),
    ),
  );
}

/** Deletes every namespace of the lab (also ones a crashed run left); returns their names. */
export async function deleteNamespaces(lab: Lab): Promise<string[]> {
  const ours = (await listNetns()).filter((n) => n.startsWith(lab.netnsPrefix));
  await ipBatch(
    ours.map((n) => `netns del ${n}`),
    { force: true },
  );
  return ours;
}

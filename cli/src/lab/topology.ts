/**
 * The lab's network: a fabric namespace holding a bridge, one namespace per node joined to it by a
 * veth (the node's `eth0` carries its tunnel IP), and one namespace per pod.
 */
import { FABRIC_PREFIX, type Lab } from './lab.js';
import { ipBatch, listNetns } from './system.js';

/** The tunnel IP of node number `index` (1-based). */
export function tunnelIp(index: number): string {
  return `${FABRIC_PREFIX}.${10 + index}`;
}

/** The registry's address on the fabric. */
export const REGISTRY_IP = `${FABRIC_PREFIX}.1`;

/** Creates the fabric and the nodes. */
export async function createFabric(lab: Lab, nodes: string[]): Promise<void> {
  const fabric = lab.netns('fabric');
  const lines = [
    `netns add ${fabric}`,
    `-n ${fabric} link set lo up`,
    `-n ${fabric} link add br0 type bridge`,
    `-n ${fabric} addr add ${REGISTRY_IP}/24 dev br0`,
    `-n ${fabric} link set br0 up`,
  ];
  nodes.forEach((node, i) => {
    const ns = lab.netns(node);
    lines.push(
      `netns add ${ns}`,
      `-n ${ns} link set lo up`,
      `-n ${fabric} link add n${i + 1} type veth peer name eth0 netns ${ns}`,
      `-n ${fabric} link set n${i + 1} master br0 up`,
      `-n ${ns} addr add ${tunnelIp(i + 1)}/24 dev eth0`,
      `-n ${ns} link set eth0 up`,
    );
  });
  await ipBatch(lines);
}

/** Creates the namespace of each pod. */
export async function createPodNamespaces(lab: Lab, pods: string[]): Promise<void> {
  await ipBatch(pods.flatMap((pod) => [`netns add ${lab.netns(pod)}`, `-n ${lab.netns(pod)} link set lo up`]));
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

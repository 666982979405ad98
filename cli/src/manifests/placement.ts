/** Which emulated node each pod runs on. */
import type { PodDraft } from './workload.js';

/**
 * The lab's fabric, a /24: the registry is .1, node i is .(10+i), fabric hosts have the addresses
 * their manifests give. (Manifests check fabric hosts' addresses against it, so it lives here.)
 */
export const FABRIC_PREFIX = '198.18.0';

/** Where fabric hosts and external endpoints' gateways are: on the fabric, outside every node. */
export const FABRIC = 'fabric';

/** The lab's node names: `node-1` ... `node-<count>`. Usage: `nodeNames(2) // ['node-1', 'node-2']`. */
export function nodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `node-${i + 1}`);
}

/**
 * The node of each pod, in order: the one it names (`spec.nodeName` or the `kubernetes.io/hostname`
 * node selector), else round-robin over `nodes` counting only pods that name none, in document order.
 * A named node that does not exist is reported once per manifest. Usage: `placePods(drafts, nodeNames(2))`.
 */
export function placePods(pods: readonly PodDraft[], nodes: readonly string[]): string[] {
  const reported = new Set<object>();
  let unplaced = 0;
  return pods.map((pod) => {
    if (pod.host) return FABRIC;
    if (!pod.node) return nodes[unplaced++ % nodes.length] ?? '';
    if (!nodes.includes(pod.node.name) && !reported.has(pod.node)) {
      reported.add(pod.node);
      pod.doc.error(
        pod.node.path,
        `node "${pod.node.name}" does not exist; expected one of ${nodes.join(', ')} ` +
          `(the lab has ${nodes.length} node${nodes.length === 1 ? '' : 's'}: see --nodes)`,
      );
    }
    return pod.node.name;
  });
}

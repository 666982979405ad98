/**
 * What a previous run of this forwarder left: VFs marked `nsm-vf:<owner>:...` in pods. At start they
 * go back to the node under their original names, with what was set through their PFs cleared.
 */
import { setLinkRequest } from '../kernel/netlink/link-requests.js';
import type { KernelDeps } from './deps.js';
import { listNamespaces } from './adopt.js';
import { nsKeyOf } from './netlink-cache.js';
import { clearVf, moveToNode, VF_ALIAS_PREFIX } from './sriov-vfs.js';
import { inNamespace } from './wire.js';

/** The parts of a VF's mark; undefined for another alias. */
export function parseVfAlias(
  alias: string | undefined,
): { owner: string; connId: string; netdev: string; pf?: { netdev: string; index: number } } | undefined {
  if (!alias?.startsWith(VF_ALIAS_PREFIX)) return undefined;
  const [owner, connId, netdev, pf] = alias.slice(VF_ALIAS_PREFIX.length).split(':');
  if (!owner || !connId || !netdev) return undefined;
  const m = pf ? /^(.+)#(\d+)$/.exec(pf) : null;
  return { owner, connId, netdev, ...(m ? { pf: { netdev: m[1]!, index: Number(m[2]) } } : {}) };
}

/**
 * At start: every VF a previous run of this forwarder left in a pod (marked `nsm-vf:<owner>:...`)
 * goes back to the node under its original name. The connections it served heal by asking again,
 * and get a VF anew; a VF is never left in a pod that no connection of this run holds.
 * Returns how many it gave back.
 */
export async function returnStrayVfs(deps: KernelDeps): Promise<number> {
  const mark = `${VF_ALIAS_PREFIX}${deps.owner}:`;
  const nodePath = deps.nodeNs ?? '/proc/self/ns/net';
  const nodeKey = nsKeyOf(nodePath);
  let count = 0;
  for (const ns of listNamespaces([nodePath])) {
    const links = await inNamespace(deps.netlinks, ns.path, ns.key, (nl) => nl.listLinks()).catch(
      () => undefined,
    );
    for (const link of links ?? []) {
      const marked = link.alias?.startsWith(mark) ? parseVfAlias(link.alias) : undefined;
      if (!marked) continue;
      const original = marked.netdev;
      try {
        // Settings made through the PF are not known to this run: cleared by the mark (VLAN and MAC both).
        if (marked.pf) await clearVf(deps, marked.pf, { vlan: true, mac: true }, deps.log);
        if (ns.key !== nodeKey) {
          if (!(await moveToNode(deps, { nsPath: ns.path, nsKey: ns.key }, link.index, original))) continue;
        } else {
          const node = deps.netlinkFor(null);
          try {
            await node.nl.execute([setLinkRequest(link.index, { name: original, alias: '' })]);
          } finally {
            node.release();
          }
        }
        count++;
        deps.log.info({ vf: original, from: ns.path }, 'a VF of a previous run went back to the node');
      } catch (err) {
        deps.log.warn(
          { vf: original, from: ns.path, err: String(err) },
          'cannot give a VF of a previous run back',
        );
      }
    }
  }
  return count;
}

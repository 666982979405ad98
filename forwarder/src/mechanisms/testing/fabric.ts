/** Two emulated nodes (namespaces) joined by a veth "fabric", each with a tunnel IP on it. */
import { execFileSync } from 'node:child_process';

import { type NamespaceFixture, type TestNamespace, ipIn } from '../../kernel/testing/netns-fixture.js';

/** Tunnel IPs of the two nodes. */
export const TUNNEL_A = '192.168.77.1';
export const TUNNEL_B = '192.168.77.2';

/** Two nodes on one fabric; the namespaces (and the fabric with them) go with the fixture. */
export function twoNodes(fx: NamespaceFixture, mtu = 1500): { nodeA: TestNamespace; nodeB: TestNamespace } {
  const nodeA = fx.add('na');
  const nodeB = fx.add('nb');
  execFileSync(
    'ip',
    [
      'link',
      'add',
      'fab0',
      'netns',
      nodeA.name,
      'mtu',
      String(mtu),
      'type',
      'veth',
      'peer',
      'fab0',
      'netns',
      nodeB.name,
      'mtu',
      String(mtu),
    ],
    { stdio: 'pipe' },
  );
  for (const [node, ip] of [
    [nodeA, TUNNEL_A],
    [nodeB, TUNNEL_B],
  ] as const) {
    ipIn(node.name, 'addr', 'add', `${ip}/24`, 'dev', 'fab0');
    ipIn(node.name, 'link', 'set', 'fab0', 'up');
  }
  return { nodeA, nodeB };
}

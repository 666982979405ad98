import { Netlink } from '../netlink/netlink.js';
import { closeNamespaceFd, openNamespaceFd } from '../netns.js';
import { type NamespaceFixture, type TestNamespace } from './netns-fixture.js';

/** A test namespace with a netlink socket in it and a descriptor for moving links into it. */
export interface OpenNamespace extends TestNamespace {
  readonly nl: Netlink;
  readonly fd: number;
}

/**
 * Creates a namespace and opens it for netlink; both are released by the fixture's cleanup, the
 * socket and descriptor before the namespace.
 */
export function openTestNamespace(fx: NamespaceFixture, label: string): OpenNamespace {
  const ns = fx.add(label);
  const nl = Netlink.open(ns.path);
  fx.defer(() => nl.close());
  const fd = openNamespaceFd(ns.path);
  fx.defer(() => closeNamespaceFd(fd));
  return { ...ns, nl, fd };
}

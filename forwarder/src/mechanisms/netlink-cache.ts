/**
 * Netlink sockets shared per network namespace. A socket pins its namespace (and the links in it)
 * for as long as it is open, so sockets for pods are leased per operation and closed when the last
 * lease goes: a dead pod's namespace is never kept alive by the forwarder between operations.
 */
import { Netlink } from '../kernel/netlink/netlink.js';
import { nsInode } from '../kernel/netns.js';

/** Identity of a namespace: `<dev>:<ino>` of its file. */
export type NsKey = string;

/** The namespace key of `nsPath` (null: this process's own namespace). Throws when it is gone. */
export function nsKeyOf(nsPath: string | null): NsKey {
  const id = nsInode(nsPath ?? '/proc/self/ns/net');
  return `${id.dev}:${id.ino}`;
}

/** A socket in one namespace, held until {@link NetlinkLease.release}. */
export interface NetlinkLease {
  readonly nl: Netlink;
  readonly nsKey: NsKey;
  /** Idempotent. */
  release(): void;
}

interface Entry {
  nl: Netlink;
  refs: number;
}

/**
 * Opens at most one socket per namespace at a time, keyed by namespace identity (a path such as
 * /proc/<pid>/ns/net can come to name another namespace later).
 * Usage: `const lease = cache.acquire('/run/netns/pod'); try { ... } finally { lease.release(); }`.
 */
export class NetlinkCache {
  private readonly entries = new Map<NsKey, Entry>();
  private closed = false;

  constructor(private readonly open: (nsPath: string | null) => Netlink = (p) => Netlink.open(p)) {}

  /** Leases the socket of the namespace at `nsPath`; `expectKey` fails the lease if it is another namespace now. */
  acquire(nsPath: string | null, expectKey?: NsKey): NetlinkLease {
    if (this.closed) throw new Error('netlink cache is closed');
    const nsKey = nsKeyOf(nsPath);
    if (expectKey !== undefined && nsKey !== expectKey) {
      throw new NamespaceChangedError(nsPath ?? 'own namespace', expectKey, nsKey);
    }
    let entry = this.entries.get(nsKey);
    if (!entry) {
      entry = { nl: this.open(nsPath), refs: 0 };
      this.entries.set(nsKey, entry);
    }
    entry.refs++;
    let released = false;
    const held = entry;
    return {
      nl: held.nl,
      nsKey,
      release: () => {
        if (released) return;
        released = true;
        if (--held.refs > 0) return;
        held.nl.close();
        if (this.entries.get(nsKey) === held) this.entries.delete(nsKey);
      },
    };
  }

  /** Number of namespaces with an open socket. */
  get size(): number {
    return this.entries.size;
  }

  /** Closes every socket, leased or not. */
  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) entry.nl.close();
    this.entries.clear();
  }
}

/** The file that named a namespace now names another one (or the namespace is gone). */
export class NamespaceChangedError extends Error {
  override readonly name = 'NamespaceChangedError';
  constructor(path: string, expected: NsKey, actual: NsKey) {
    super(`${path} is namespace ${actual} now, not ${expected}`);
  }
}

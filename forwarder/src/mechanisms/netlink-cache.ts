/**
 * Netlink sockets shared per network namespace. A socket pins its namespace (and the links in it)
 * for as long as it is open, so sockets for pods are leased per operation and closed when the last
 * lease goes: a dead pod's namespace is never kept alive by the forwarder between operations.
 *
 * A namespace is known by its identity (device and inode), not by the path that named it first: a
 * client's `/proc/<pid>/ns/net` goes away when that process exits although its pod's namespace lives
 * on (held by the pod, `/run/netns/<name>`, or another process). Such a namespace is found again by
 * its identity, so the wires in it can still be checked and removed.
 */
import { Code, NsmError } from '@nsm-ts/sdk/core';
import { Netlink } from '../kernel/netlink/netlink.js';
import { type NamespaceRoots, findNamespaceByInode, nsInode } from '../kernel/netns.js';

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

  constructor(
    private readonly open: (nsPath: string | null) => Netlink = (p) => Netlink.open(p),
    private readonly roots: NamespaceRoots = {},
  ) {}

  /**
   * Leases the socket of the namespace at `nsPath`. With `expectKey`, the lease is for that namespace:
   * when `nsPath` is gone or names another one now, the namespace is looked for by its identity
   * (an open socket, /run/netns, /proc/<pid>/ns/net); NamespaceChangedError when it exists no more.
   */
  acquire(nsPath: string | null, expectKey?: NsKey): NetlinkLease {
    if (this.closed) throw new Error('netlink cache is closed');
    let path = nsPath;
    let nsKey = expectKey === undefined ? nsKeyOf(nsPath) : keyOrGone(nsPath);
    if (expectKey !== undefined && nsKey !== expectKey) {
      const open = this.entries.get(expectKey);
      if (open) return this.lease(expectKey, open);
      const [dev = '', ino = ''] = expectKey.split(':');
      const found = findNamespaceByInode({ dev: Number(dev), ino: Number(ino) }, this.roots);
      if (!found) throw new NamespaceChangedError(nsPath ?? 'own namespace', expectKey, nsKey ?? 'gone');
      path = found;
      nsKey = expectKey;
    }
    const key = nsKey ?? '';
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { nl: this.open(path), refs: 0 };
      this.entries.set(key, entry);
    }
    return this.lease(key, entry);
  }

  private lease(nsKey: NsKey, entry: Entry): NetlinkLease {
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

/** The key of the namespace at `nsPath`, or undefined when the file is gone. */
function keyOrGone(nsPath: string | null): NsKey | undefined {
  try {
    return nsKeyOf(nsPath);
  } catch (err) {
    if (err instanceof NsmError && err.code === Code.NOT_FOUND) return undefined;
    throw err;
  }
}

/** The file that named a namespace now names another one (or the namespace is gone). */
export class NamespaceChangedError extends Error {
  override readonly name = 'NamespaceChangedError';
  constructor(path: string, expected: NsKey, actual: NsKey) {
    super(`${path} is namespace ${actual} now, not ${expected}`);
  }
}

import { type Stats, closeSync, openSync, readdirSync, statSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Code, NsmError, invalidArgument } from '@nsm-ts/sdk/core';

/** A namespace as an NSC names it: a file to open, or a (device, inode) pair to look for. */
export type NamespaceRef =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'inode'; readonly dev: number; readonly ino: number };

/** Identity of a namespace file: every open of the same namespace has the same pair. */
export interface NsInode {
  readonly dev: number;
  readonly ino: number;
}

/** Where to look when resolving `inode://` URLs; injectable for tests. */
export interface NamespaceRoots {
  readonly proc?: string;
  readonly runNetns?: string;
}

/** statfs f_type of nsfs, the filesystem every namespace file lives on. */
const NSFS_MAGIC = 0x6e736673;

/**
 * Parses an `inodeURL`: `file:///proc/<pid>/ns/net`, `file:///run/netns/<name>`, a plain absolute
 * path, or `inode://<dev>/<ino>`.
 * Usage: `parseInodeUrl('inode://4/4026532265')` → `{ kind: 'inode', dev: 4, ino: 4026532265 }`.
 */
export function parseInodeUrl(url: string): NamespaceRef {
  if (url.startsWith('/')) return { kind: 'path', path: url };
  if (url.startsWith('file:')) {
    try {
      return { kind: 'path', path: fileURLToPath(url) };
    } catch (err) {
      throw new NsmError(Code.INVALID_ARGUMENT, `inodeURL "${url}" is not a local file URL`, { cause: err });
    }
  }
  const m = /^inode:\/\/(\d+)\/(\d+)$/.exec(url);
  if (m) {
    const dev = Number(m[1]);
    const ino = Number(m[2]);
    if (Number.isSafeInteger(dev) && Number.isSafeInteger(ino)) return { kind: 'inode', dev, ino };
  }
  throw invalidArgument(`inodeURL "${url}" is neither file://, an absolute path, nor inode://<dev>/<ino>`);
}

/** The (device, inode) identity of a namespace file. */
export function nsInode(path: string): NsInode {
  const st = statOrThrow(path);
  return { dev: st.dev, ino: st.ino };
}

function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const status =
      code === 'ENOENT' ? Code.NOT_FOUND : code === 'EACCES' ? Code.PERMISSION_DENIED : Code.INTERNAL;
    throw new NsmError(status, `namespace file ${path}: ${code ?? String(err)}`, { cause: err });
  }
}

/**
 * Checks that `path` exists and is a namespace file. Whether it is a *network* namespace only
 * setns can tell; Netlink.open reports that.
 */
export function checkNamespaceFile(path: string): void {
  statOrThrow(path);
  if (statfsSync(path).type !== NSFS_MAGIC) {
    throw invalidArgument(
      `${path} is not a namespace file (expected /proc/<pid>/ns/net or /run/netns/<name>)`,
    );
  }
}

/** Finds a path for the namespace with this identity under /run/netns and /proc/<pid>/ns/net. */
export function findNamespaceByInode(id: NsInode, roots: NamespaceRoots = {}): string | undefined {
  const runNetns = roots.runNetns ?? '/run/netns';
  const proc = roots.proc ?? '/proc';
  const candidates = [
    ...listDir(runNetns).map((name) => join(runNetns, name)),
    ...listDir(proc)
      .filter((name) => /^\d+$/.test(name))
      .map((pid) => join(proc, pid, 'ns', 'net')),
  ];
  return candidates.find((path) => {
    try {
      const st = statSync(path);
      return st.dev === id.dev && st.ino === id.ino;
    } catch {
      // Processes exit and namespaces go away while we scan; only a match matters.
      return false;
    }
  });
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Resolves an `inodeURL` to a namespace file path that can be opened.
 * Usage: `Netlink.open(resolveNamespace(conn.mechanism.parameters.inodeURL))`.
 */
export function resolveNamespace(url: string, roots: NamespaceRoots = {}): string {
  const ref = parseInodeUrl(url);
  if (ref.kind === 'path') {
    checkNamespaceFile(ref.path);
    return ref.path;
  }
  const path = findNamespaceByInode(ref, roots);
  if (!path)
    throw new NsmError(
      Code.NOT_FOUND,
      `no network namespace with inode ${ref.ino} on device ${ref.dev} (${url})`,
    );
  return path;
}

/**
 * Opens a namespace for IFLA_NET_NS_FD (moving links, creating veth peers). The caller closes it
 * with {@link closeNamespaceFd}; an open descriptor keeps the namespace alive.
 */
export function openNamespaceFd(url: string): number {
  return openSync(resolveNamespace(url), 'r');
}

/** Closes a descriptor from {@link openNamespaceFd}. */
export function closeNamespaceFd(fd: number): void {
  closeSync(fd);
}

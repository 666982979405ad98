/**
 * Restart safety. A forwarder that exits leaves its wires in place (traffic keeps flowing); the
 * next run scans every namespace it can see for links whose alias names this forwarder, keeps them
 * as "stale" by connection id, and hands them to the mechanism element when that connection is
 * requested again (adopt if it matches what is wanted, else delete and rebuild). Whatever is not
 * reclaimed within the grace period is removed.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { Clock } from '@nsm-ts/sdk/core';
import type { Logger } from '@nsm-ts/sdk/core';
import type { LinkInfo } from '../kernel/netlink/link-info.js';
import type { NamespaceRoots } from '../kernel/netns.js';
import { formatAlias, parseAlias } from './alias.js';
import type { NetlinkCache, NsKey } from './netlink-cache.js';
import { deleteOwned, inNamespace } from './wire.js';

/** A link of a previous run, where it was found. */
export interface StaleLink extends LinkInfo {
  readonly connId: string;
  readonly nsPath: string;
  readonly nsKey: NsKey;
}

/** The table of a previous run's links. */
export interface Adoption {
  /** Takes (and forgets) the stale links of a connection; [] when there are none. */
  claim(connId: string): StaleLink[];
  /** The stale links of a connection, left in the table (e.g. to reuse a stale tunnel's VNI). */
  peek(connId: string): readonly StaleLink[];
  /** Removes every stale link not claimed yet; resolves with how many were deleted. */
  sweep(): Promise<number>;
  /** Cancels the pending sweep. */
  stop(): void;
  /** Number of connections with unclaimed links. */
  readonly pending: number;
}

/** An adoption table that never has anything (adoption disabled). */
export const noAdoption: Adoption = {
  claim: () => [],
  peek: () => [],
  sweep: () => Promise.resolve(0),
  stop: () => {},
  pending: 0,
};

/** Options of {@link startAdoption}. */
export interface AdoptionOptions {
  /** Delay before unclaimed links are removed (default 60 s; tokens expire within their lifetime anyway). */
  readonly graceMs?: number;
  readonly roots?: NamespaceRoots;
}

/** What the scan needs from the kernel deps. */
export interface AdoptionDeps {
  readonly log: Logger;
  readonly clock: Clock;
  readonly owner: string;
  readonly nodeNs: string | null;
  readonly netlinks: NetlinkCache;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Every network namespace reachable through `first`, /run/netns/* and /proc/<pid>/ns/net, once
 * each (by inode). Usage: `listNamespaces(['/proc/self/ns/net'])`.
 */
export function listNamespaces(
  first: readonly string[],
  roots: NamespaceRoots = {},
): { path: string; key: NsKey }[] {
  const runNetns = roots.runNetns ?? '/run/netns';
  const proc = roots.proc ?? '/proc';
  const candidates = [
    ...first,
    ...listDir(runNetns).map((n) => join(runNetns, n)),
    ...listDir(proc)
      .filter((n) => /^\d+$/.test(n))
      .map((pid) => join(proc, pid, 'ns', 'net')),
  ];
  const seen = new Map<NsKey, string>();
  for (const path of candidates) {
    try {
      const st = statSync(path);
      const key = `${st.dev}:${st.ino}`;
      if (!seen.has(key)) seen.set(key, path);
    } catch {
      // Processes exit while we scan.
    }
  }
  return [...seen].map(([key, path]) => ({ path, key }));
}

async function scan(deps: AdoptionDeps, roots: NamespaceRoots): Promise<Map<string, StaleLink[]>> {
  const stale = new Map<string, StaleLink[]>();
  for (const ns of listNamespaces([deps.nodeNs ?? '/proc/self/ns/net'], roots)) {
    const links = await inNamespace(deps.netlinks, ns.path, ns.key, (nl) => nl.listLinks()).catch(
      (err: unknown) => {
        deps.log.debug({ ns: ns.path, err: String(err) }, 'adoption scan skipped a namespace');
        return undefined;
      },
    );
    for (const link of links ?? []) {
      const alias = parseAlias(link.alias);
      if (alias?.owner !== deps.owner) continue;
      const list = stale.get(alias.connId) ?? [];
      list.push({ ...link, connId: alias.connId, nsPath: ns.path, nsKey: ns.key });
      stale.set(alias.connId, list);
    }
  }
  return stale;
}

/**
 * Scans for this forwarder's links of a previous run and schedules their removal after the grace
 * period unless claimed. Usage: `const adoption = await startAdoption(deps); adoption.claim(conn.id)`.
 */
export async function startAdoption(deps: AdoptionDeps, options: AdoptionOptions = {}): Promise<Adoption> {
  const stale = await scan(deps, options.roots ?? {});
  const count = [...stale.values()].reduce((n, l) => n + l.length, 0);
  if (count > 0)
    deps.log.info({ links: count, connections: stale.size }, 'found interfaces of a previous run');

  const sweep = async (): Promise<number> => {
    const all = [...stale.values()].flat();
    stale.clear();
    let removed = 0;
    for (const link of all) {
      const alias = formatAlias(deps.owner, link.connId);
      try {
        if (await deleteOwned(deps.netlinks, link, alias)) removed++;
      } catch (err) {
        deps.log.warn(
          { connId: link.connId, link: link.name, ns: link.nsPath, err: String(err) },
          'removing a stale interface failed',
        );
      }
    }
    if (removed > 0) deps.log.info({ removed }, 'removed unclaimed interfaces of a previous run');
    return removed;
  };

  const cancel =
    stale.size > 0
      ? deps.clock.after(options.graceMs ?? 60_000, () => {
          sweep().catch((err: unknown) =>
            deps.log.warn({ err: String(err) }, 'stale interface sweep failed'),
          );
        })
      : () => {};
  return {
    claim(connId) {
      const links = stale.get(connId) ?? [];
      stale.delete(connId);
      return links;
    },
    peek: (connId) => stale.get(connId) ?? [],
    sweep,
    stop: cancel,
    get pending() {
      return stale.size;
    },
  };
}

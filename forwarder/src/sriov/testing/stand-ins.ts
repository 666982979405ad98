/**
 * Real netdevs standing in for emulated NIC ports and VFs, made with `ip` (test side only): a veth
 * end is the PF's netdev, a macvlan (mode bridge) on it is a VF's, so two VFs of one PF reach
 * each other after being moved, renamed and addressed like real VFs.
 */
import { execFileSync } from 'node:child_process';

/** A link as `ip -j link show` lists it. */
export interface ListedLink {
  readonly ifname: string;
  readonly address?: string;
  readonly ifalias?: string;
}

/** How the emulation recognises its stand-ins wherever they were moved: alias, or the MAC it gave them. */
export interface StandInMark {
  readonly alias: string;
  readonly mac: string;
}

/** Runs `ip [-n netns] args...` (undefined netns: this process's namespace). */
export function ip(netns: string | undefined, ...args: string[]): string {
  return execFileSync('ip', netns === undefined ? args : ['-n', netns, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Creates the PF stand-in: a veth pair in `netns`, both ends marked and up (a macvlan needs a carrier). */
export function createPortLink(netns: string, name: string, peer: string, alias: string): void {
  ip(netns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', peer);
  for (const end of [name, peer]) ip(netns, 'link', 'set', 'dev', end, 'alias', alias, 'up');
}

/**
 * Cables a port: moves the PF stand-in's other end `peer` from `netns` into `uplink.netns` and
 * enslaves it to `uplink.bridge` there (the physical network). Deleting the PF deletes it.
 */
export function cablePort(netns: string, peer: string, uplink: { netns: string; bridge: string }): void {
  ip(netns, 'link', 'set', 'dev', peer, 'netns', uplink.netns);
  ip(uplink.netns, 'link', 'set', 'dev', peer, 'master', uplink.bridge, 'up');
}

/** Creates a VF stand-in: a macvlan (mode bridge) on the PF stand-in, down like a freshly probed VF. */
export function createStandIn(netns: string, port: string, name: string, mark: StandInMark): void {
  ip(
    netns,
    'link',
    'add',
    'link',
    port,
    'name',
    name,
    'address',
    mark.mac,
    'type',
    'macvlan',
    'mode',
    'bridge',
  );
  ip(netns, 'link', 'set', 'dev', name, 'alias', mark.alias);
}

/** Deletes a link if it is still there; false when it was not. */
export function deleteLink(netns: string | undefined, name: string): boolean {
  try {
    ip(netns, 'link', 'del', 'dev', name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds a stand-in by its mark in `first`, this process's namespace, or any named namespace
 * (`ip netns list`), and deletes it. False when it is nowhere (its namespace was deleted, or the
 * alias and the MAC were both rewritten).
 */
export function deleteStandIn(first: string, mark: StandInMark): boolean {
  for (const netns of [first, undefined, ...namedNamespaces().filter((n) => n !== first)]) {
    const link = findStandIn(netns, mark);
    if (link && deleteLink(netns, link.ifname)) return true;
  }
  return false;
}

/** The stand-in with `mark` in `netns` (undefined: this process's), if it is there. */
export function findStandIn(netns: string | undefined, mark: StandInMark): ListedLink | undefined {
  return linksIn(netns).find((l) => l.ifalias === mark.alias || l.address === mark.mac);
}

function linksIn(netns: string | undefined): ListedLink[] {
  try {
    const out = ip(netns, '-j', 'link', 'show').trim();
    return out === '' ? [] : (JSON.parse(out) as ListedLink[]);
  } catch {
    // The namespace went away while we looked.
    return [];
  }
}

function namedNamespaces(): string[] {
  return ip(undefined, 'netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

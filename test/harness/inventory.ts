/**
 * What every pod of a lab holds, seen from outside with `ip -j`: its interfaces (state, addresses)
 * and a verdict on leaks: duplicate addresses, interfaces that are down, more interfaces than live
 * connections. Scenario tests take one before and one after and compare.
 */
import { execFileSync } from 'node:child_process';
import type { StatusJson } from './lab-probe.js';

/** One interface of a pod. */
export interface PodInterface {
  name: string;
  kind: string;
  up: boolean;
  addresses: string[];
}

/** Pod name → its interfaces (loopback left out), sorted by name. */
export type Inventory = Record<string, PodInterface[]>;

interface IpAddr {
  ifname: string;
  operstate?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string };
  addr_info?: { local: string; prefixlen: number; scope?: string }[];
}

function podInterfaces(netnsName: string): PodInterface[] {
  let out: string;
  try {
    out = execFileSync('ip', ['-n', netnsName, '-j', '-d', 'addr'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch {
    return []; // the pod's namespace is gone (a deleted pod)
  }
  return (JSON.parse(out.trim() || '[]') as IpAddr[])
    .filter((l) => l.ifname !== 'lo')
    .map((l) => ({
      name: l.ifname,
      kind: l.linkinfo?.info_kind ?? '',
      up: l.flags?.includes('UP') ?? false,
      addresses: (l.addr_info ?? [])
        .filter((a) => a.scope !== 'link')
        .map((a) => `${a.local}/${a.prefixlen}`)
        .sort(),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The interfaces of every pod of the lab (by `nsm status --json`). */
export function inventory(status: StatusJson): Inventory {
  return Object.fromEntries(
    status.pods.map((p) => [p.name, podInterfaces(p.netns.replace('/run/netns/', ''))]),
  );
}

/** Interface and address counts per pod: what a healed lab must have again. */
export function counts(inv: Inventory): Record<string, { interfaces: number; addresses: number }> {
  return Object.fromEntries(
    Object.entries(inv).map(([pod, ifs]) => [
      pod,
      { interfaces: ifs.length, addresses: ifs.reduce((n, i) => n + i.addresses.length, 0) },
    ]),
  );
}

/** What is wrong in a pod: an interface that is down, an address on two interfaces. */
export function leaks(inv: Inventory): string[] {
  const problems: string[] = [];
  for (const [pod, ifs] of Object.entries(inv)) {
    for (const i of ifs) if (!i.up) problems.push(`${pod}/${i.name} is down`);
    const seen = new Map<string, string>();
    for (const i of ifs) {
      for (const a of i.addresses) {
        const other = seen.get(a);
        if (other) problems.push(`${pod}: ${a} on both ${other} and ${i.name}`);
        seen.set(a, i.name);
      }
    }
  }
  return problems;
}

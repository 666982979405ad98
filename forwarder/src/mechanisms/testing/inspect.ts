/** Looking into test namespaces with `ip -j` (an independent view of what the forwarder built). */
import { ipJson } from '../../kernel/testing/netns-fixture.js';

/** A link as `ip -j -d link` shows it. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  ifalias?: string;
  operstate: string;
  flags: string[];
  /** The MAC address. */
  address?: string;
  /** The bridge this link is a port of. */
  master?: string;
  linkinfo?: {
    info_kind: string;
    info_data?: {
      id?: number;
      remote?: string;
      local?: string;
      port?: number;
      /** tun: `tun` or `tap`, and who may attach. */
      type?: string;
      multi_queue?: boolean;
      persist?: boolean;
      /** A name, or the number when the uid has none. */
      user?: string | number;
    };
  };
}

/** Every link of a namespace except loopback. */
export function linksOf(ns: string): IpLink[] {
  return ipJson<IpLink[]>(ns, '-d', 'link', 'show').filter((l) => l.ifname !== 'lo');
}

/** The global addresses of an interface, as `a.b.c.d/len`. */
export function addressesOf(ns: string, ifname: string): string[] {
  const [entry] = ipJson<{ addr_info: { local: string; prefixlen: number; scope: string }[] }[]>(
    ns,
    'addr',
    'show',
    'dev',
    ifname,
  );
  return (entry?.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`);
}

/** A route as `ip -j route` shows it. */
export interface IpRoute {
  dst: string;
  dev: string;
  gateway?: string;
  scope?: string;
  flags: string[];
}

/** The IPv4 routes of a namespace. */
export function routesOf(ns: string): IpRoute[] {
  return ipJson<IpRoute[]>(ns, 'route', 'show');
}

/**
 * The interfaces of a pod as its namespace holds them right now, with their addresses and traffic
 * counters: one netlink dump of the links (IFLA_STATS64) and one of the addresses, from a socket
 * opened inside the pod's namespace (the forwarder's netlink code, no `ip` process).
 */
import { Netlink, type AddressInfo, type LinkInfo } from '@nsm-ts/forwarder/kernel';

/** One interface of a pod (never `lo`). */
export interface PodInterface {
  name: string;
  /** The link kind (`veth`, `vxlan`, `bridge`...), when it has one. */
  kind?: string;
  mac?: string;
  mtu: number;
  /** Administratively up. */
  up: boolean;
  /** Its addresses as `address/prefix`, IPv6 link-local ones left out. */
  addresses: string[];
  /** Its counters, as the kernel keeps them since the interface was created. */
  counters: {
    rxBytes: number;
    txBytes: number;
    rxPackets: number;
    txPackets: number;
    rxDropped: number;
    txDropped: number;
  };
}

/** The interfaces of `links` with their addresses, sorted by name. */
export function podInterfaces(links: readonly LinkInfo[], addresses: readonly AddressInfo[]): PodInterface[] {
  return links
    .filter((l) => l.name !== 'lo')
    .map((l) => ({
      name: l.name,
      ...(l.kind ? { kind: l.kind } : {}),
      ...(l.mac ? { mac: l.mac } : {}),
      mtu: l.mtu,
      up: l.up,
      addresses: addresses.filter((a) => a.index === l.index && !a.linkLocal).map((a) => a.cidr),
      counters: {
        rxBytes: l.stats?.rxBytes ?? 0,
        txBytes: l.stats?.txBytes ?? 0,
        rxPackets: l.stats?.rxPackets ?? 0,
        txPackets: l.stats?.txPackets ?? 0,
        rxDropped: l.stats?.rxDropped ?? 0,
        txDropped: l.stats?.txDropped ?? 0,
      },
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Reads the interfaces in the namespace at `nsPath` (`/run/netns/<name>`); undefined when the
 * namespace cannot be entered (a deleted pod's is gone).
 */
export async function readPodInterfaces(nsPath: string): Promise<PodInterface[] | undefined> {
  let nl: Netlink;
  try {
    nl = Netlink.open(nsPath);
  } catch {
    return undefined;
  }
  try {
    const [links, addresses] = [await nl.listLinks(), await nl.listAddresses()];
    return podInterfaces(links, addresses);
  } catch {
    return undefined;
  } finally {
    nl.close();
  }
}

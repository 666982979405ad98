import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of the built addon relative to this package's root (`forwarder/`). */
const ADDON = join('native', 'build', 'Release', 'nsm_netlink.node');

/**
 * The native netlink addon (`forwarder/native`). Errors it throws carry `code` (errno name such
 * as `ENOENT`), `errno`, `syscall` and `reason` (strerror text plus a hint).
 */
export interface NetlinkAddon {
  /** Opens a NETLINK_ROUTE socket inside the namespace at `nsPath` (null: this process's). */
  openNetlinkInNamespace(nsPath: string | null): number;
  /** Sends a batch of netlink messages on a libuv pool thread; resolves with all replies. */
  transact(fd: number, request: Buffer): Promise<Buffer>;
  /** Blocking form of {@link NetlinkAddon.transact}, for start-up and cleanup paths. */
  transactSync(fd: number, request: Buffer): Buffer;
  /** Closes a descriptor returned by `openNetlinkInNamespace` or `openSocketInNamespace`. */
  close(fd: number): void;
  /**
   * Opens `socket(domain, type, protocol)` inside the namespace at `nsPath` (null: this
   * process's), e.g. a raw ICMP socket in a pod. The socket keeps that namespace for life.
   */
  openSocketInNamespace(nsPath: string | null, domain: number, type: number, protocol: number): number;
  /**
   * Sends one ICMP echo request to `addr` on a raw or ping socket and waits on a libuv pool thread
   * for the reply; resolves with the round-trip time in milliseconds, rejects with code ETIMEDOUT
   * after `timeoutMs` (1..60000) or with the errno of a failed send.
   *
   * With `size` (ICMP payload bytes, 16..65000; 16 without it) the echo is sent with don't-fragment
   * and the kernel's cached path MTU ignored: a packet larger than the outgoing interface's MTU
   * rejects at once with EMSGSIZE, and an ICMP error about the echo from a router on the way
   * (fragmentation needed / packet too big: EMSGSIZE; unreachable: EHOSTUNREACH ...) rejects with
   * its errno, `reason` naming the router and the MTU it reported.
   */
  pingOnce(fd: number, addr: string, family: 4 | 6, timeoutMs: number, size?: number): Promise<number>;
  /**
   * Sends one ARP request (who-has `targetIp` tell `sourceIp`, from the interface's own MAC) to
   * the broadcast address on interface `ifindex`, on an AF_PACKET SOCK_DGRAM socket opened for
   * ETH_P_ARP in the interface's namespace, and waits on a libuv pool thread for the reply whose
   * sender is `targetIp`. Resolves with the replier's MAC (`aa:bb:cc:dd:ee:ff`) and the round-trip
   * time; rejects with code ETIMEDOUT after `timeoutMs` (1..60000), ENODEV for an unknown index,
   * EOPNOTSUPP for a non-Ethernet interface, or the errno of a failed call (ENETDOWN: link down).
   * `sourceIp` 0.0.0.0 sends an RFC 5227 probe, which Linux answers as well.
   */
  arpOnce(
    fd: number,
    ifindex: number,
    sourceIp: string,
    targetIp: string,
    timeoutMs: number,
  ): Promise<{ mac: string; rttMs: number }>;
  /**
   * Creates a persistent tap device (IFF_TAP | IFF_NO_PI) through /dev/net/tun and returns its
   * interface index. It is born in the namespace at `nsPath` (a throwaway thread enters it), or in
   * the calling thread's when `nsPath` is null or absent; a taken name fails with EBUSY. Synchronous:
   * a handful of syscalls. Errors carry `syscall` `open(/dev/net/tun)` when the device is missing.
   */
  createTap(name: string, options?: NativeTapOptions): number;
}

/** Options of {@link NetlinkAddon.createTap}. */
export interface NativeTapOptions {
  /** IFF_MULTI_QUEUE: whoever attaches must ask for it too (qemu does with `queues=N`, N > 1). */
  readonly multiQueue?: boolean;
  /** IFF_VNET_HDR at creation; each attaching process sets its own flag anyway. */
  readonly vnetHdr?: boolean;
  /** TUNSETOWNER: this uid may attach without CAP_NET_ADMIN. */
  readonly owner?: number;
  /** TUNSETGROUP: members of this gid may attach without CAP_NET_ADMIN. */
  readonly group?: number;
  /** The namespace to create it in; null or absent: the calling thread's. */
  readonly nsPath?: string | null;
}

let cached: NetlinkAddon | undefined;

/**
 * Walks up from this module (`src/kernel` in sources, `dist/kernel` when compiled) to the
 * package root to the first directory holding the built addon.
 */
function findAddon(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Loads the addon once. Throws a clear error when it has not been built.
 * Usage: `const fd = loadNetlinkAddon().openNetlinkInNamespace('/run/netns/pod1')`.
 */
export function loadNetlinkAddon(): NetlinkAddon {
  if (cached) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  const path = findAddon(here);
  if (!path) {
    throw new Error(`native netlink addon ${ADDON} not found above ${here}; run npm run build:native`);
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as NetlinkAddon;
  return cached;
}

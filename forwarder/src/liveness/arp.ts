/** One ARP request from an interface inside a network namespace, through the native addon. */
import { isIP } from 'node:net';
import { endianness } from 'node:os';

import { Code, NsmError, invalidArgument } from '@nsm-ts/sdk/core';
import { loadNetlinkAddon } from '../kernel/native.js';
import type { AddressInfo } from '../kernel/netlink/address-info.js';
import type { LinkInfo } from '../kernel/netlink/link-info.js';
import { Netlink } from '../kernel/netlink/netlink.js';

// From <sys/socket.h> and <linux/if_ether.h>.
const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const ETH_P_ARP = 0x0806;
/** A packet socket's protocol is in network byte order. */
const ETH_P_ARP_NETWORK = endianness() === 'LE' ? ((ETH_P_ARP & 0xff) << 8) | (ETH_P_ARP >> 8) : ETH_P_ARP;
const MAX_TIMEOUT_MS = 60_000;

/** Options of {@link arpInNamespace}. */
export interface ArpOptions {
  /**
   * The sender IPv4 address of the request. Default: the interface's first IPv4 address, or
   * 0.0.0.0 when it has none (an RFC 5227 probe, which Linux answers too).
   */
  readonly sourceIp?: string;
  /** How long to wait for the reply, 1..60000 ms. Default 1000. */
  readonly timeoutMs?: number;
}

/** The answer to an ARP request. */
export interface ArpReply {
  /** The replier's hardware address (`aa:bb:cc:dd:ee:ff`), from the reply's sender field. */
  readonly mac: string;
  /** Milliseconds from sending the request to receiving the reply. */
  readonly rttMs: number;
}

/**
 * Asks on interface `ifname` of the namespace at `nsPath` (null: this process's) who has IPv4
 * address `targetIp`: one ARP request from the interface's own MAC to the broadcast address, and
 * resolves with the MAC of the host that answers. Works on any Ethernet-like link, e.g. a VXLAN
 * device moved into a pod whose tunnel socket stays in the node's namespace.
 *
 * Rejects with INVALID_ARGUMENT for a target or source that is not IPv4, or an interface that is
 * not Ethernet (no ARP); UNAVAILABLE when the namespace or the interface does not exist or the
 * request cannot be sent (ENETDOWN: the link is down); DEADLINE_EXCEEDED when no reply came within
 * the timeout. Uses a packet socket: needs CAP_NET_RAW in that namespace.
 * Usage: `const { mac } = await arpInNamespace('/run/netns/pod', 'nsm-0', '172.16.1.100', { timeoutMs: 200 })`.
 */
export async function arpInNamespace(
  nsPath: string | null,
  ifname: string,
  targetIp: string,
  options: ArpOptions = {},
): Promise<ArpReply> {
  if (isIP(targetIp) !== 4) throw invalidArgument(`"${targetIp}" is not an IPv4 address to resolve with ARP`);
  const { sourceIp, timeoutMs = 1000 } = options;
  if (sourceIp !== undefined && isIP(sourceIp) !== 4) {
    throw invalidArgument(`ARP source "${sourceIp}" is not an IPv4 address`);
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw invalidArgument(`ARP timeout ${timeoutMs} ms is not within 1..${MAX_TIMEOUT_MS} ms`);
  }
  const where = nsPath ?? 'this namespace';
  const { index, source } = await resolveInterface(nsPath, ifname, sourceIp);
  const addon = loadNetlinkAddon();
  let fd: number;
  try {
    fd = addon.openSocketInNamespace(nsPath, AF_PACKET, SOCK_DGRAM, ETH_P_ARP_NETWORK);
  } catch (err) {
    throw new NsmError(Code.UNAVAILABLE, `cannot send ARP from ${where}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const timeout = Math.round(timeoutMs);
  try {
    return await addon.arpOnce(fd, index, source, targetIp, timeout);
  } catch (err) {
    const errno = (err as { code?: unknown }).code;
    if (errno === 'ETIMEDOUT') {
      throw new NsmError(
        Code.DEADLINE_EXCEEDED,
        `no ARP reply from ${targetIp} on ${ifname} within ${timeout} ms (in ${where})`,
        { cause: err },
      );
    }
    const code = errno === 'EOPNOTSUPP' ? Code.INVALID_ARGUMENT : Code.UNAVAILABLE;
    throw new NsmError(code, `ARP ${targetIp} on ${ifname} in ${where}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    addon.close(fd);
  }
}

/** The interface's index in its namespace and the request's source address, via rtnetlink. */
async function resolveInterface(
  nsPath: string | null,
  ifname: string,
  sourceIp: string | undefined,
): Promise<{ index: number; source: string }> {
  const where = nsPath ?? 'this namespace';
  let nl: Netlink;
  try {
    nl = Netlink.open(nsPath);
  } catch (err) {
    throw new NsmError(Code.UNAVAILABLE, `cannot send ARP from ${where}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let link: LinkInfo | undefined;
  let addresses: AddressInfo[] = [];
  try {
    link = await nl.findLink(ifname);
    if (link && sourceIp === undefined) addresses = await nl.listAddresses();
  } catch (err) {
    throw new NsmError(
      Code.UNAVAILABLE,
      `cannot look up "${ifname}" in ${where}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  } finally {
    nl.close();
  }
  if (!link) throw new NsmError(Code.UNAVAILABLE, `no interface "${ifname}" in ${where} to send ARP on`);
  const index = link.index;
  const own = addresses.find((a) => a.index === index && a.family === 4);
  return { index, source: sourceIp ?? own?.address ?? '0.0.0.0' };
}

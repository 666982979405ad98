/** One ICMP echo from inside a network namespace, through the native addon. */
import { isIP } from 'node:net';

import { Code, NsmError, invalidArgument } from '@nsm-ts/sdk/core';
import { loadNetlinkAddon } from '../kernel/native.js';

// From <sys/socket.h> and <netinet/in.h>.
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_RAW = 3;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

/** Options of {@link pingInNamespace}. */
export interface PingOptions {
  /**
   * ICMP payload bytes (16..65000). When set, the echo is sent with don't-fragment and the
   * kernel's cached path MTU is ignored, so it tests whether the path carries a packet of this
   * size (IPv4: size + 28 bytes, IPv6: size + 48). Unset: 16 bytes, fragmentation as usual.
   */
  readonly size?: number;
}

const MIN_SIZE = 16;
const MAX_SIZE = 65000;

/**
 * Sends one echo request to `addr` from inside the namespace at `nsPath` (null: this process's)
 * and resolves with the round-trip time in milliseconds. Rejects with DEADLINE_EXCEEDED after
 * `timeoutMs` without a reply, or UNAVAILABLE when the request cannot be sent (no route, no
 * namespace) or a router answers it with an ICMP error (with `size`). With `size`, an echo too
 * big for the path rejects with FAILED_PRECONDITION: at once when it exceeds the outgoing
 * interface's MTU, or when a router on the way reports a smaller next-hop MTU; a router that drops
 * it silently gives DEADLINE_EXCEEDED. Uses a raw socket: needs CAP_NET_RAW in that namespace.
 * Usage: `const rtt = await pingInNamespace('/proc/42/ns/net', '172.16.1.100', 100, { size: 1422 })`.
 */
export async function pingInNamespace(
  nsPath: string | null,
  addr: string,
  timeoutMs = 100,
  options: PingOptions = {},
): Promise<number> {
  const family = isIP(addr);
  if (family !== 4 && family !== 6) throw invalidArgument(`"${addr}" is not an IP address to ping`);
  const { size } = options;
  if (size !== undefined && (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE)) {
    throw invalidArgument(`ping size ${size} is not a payload size of ${MIN_SIZE}..${MAX_SIZE} bytes`);
  }
  const addon = loadNetlinkAddon();
  let fd: number;
  try {
    fd =
      family === 4
        ? addon.openSocketInNamespace(nsPath, AF_INET, SOCK_RAW, IPPROTO_ICMP)
        : addon.openSocketInNamespace(nsPath, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  } catch (err) {
    throw new NsmError(
      Code.UNAVAILABLE,
      `cannot ping from ${nsPath ?? 'this namespace'}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const where = `ping ${addr}${size === undefined ? '' : ` (${size} bytes, don't fragment)`}`;
  try {
    return await addon.pingOnce(fd, addr, family, Math.max(1, Math.round(timeoutMs)), size);
  } catch (err) {
    const { code: errno, reason } = err as { code?: unknown; reason?: unknown };
    const code =
      errno === 'ETIMEDOUT'
        ? Code.DEADLINE_EXCEEDED
        : errno === 'EMSGSIZE'
          ? Code.FAILED_PRECONDITION
          : Code.UNAVAILABLE;
    const why =
      errno === 'ETIMEDOUT'
        ? `no echo reply within ${timeoutMs} ms`
        : errno === 'EMSGSIZE' && typeof reason === 'string'
          ? `${reason} (EMSGSIZE)`
          : (err as Error).message;
    throw new NsmError(code, `${where} from ${nsPath ?? 'this namespace'}: ${why}`, { cause: err });
  } finally {
    addon.close(fd);
  }
}

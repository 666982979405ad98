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

/**
 * Sends one echo request to `addr` from inside the namespace at `nsPath` (null: this process's)
 * and resolves with the round-trip time in milliseconds. Rejects with DEADLINE_EXCEEDED after
 * `timeoutMs` without a reply, or UNAVAILABLE when the request cannot be sent (no route, no
 * namespace). Uses a raw socket: needs CAP_NET_RAW in that namespace.
 * Usage: `const rtt = await pingInNamespace('/proc/42/ns/net', '172.16.1.100', 100)`.
 */
export async function pingInNamespace(nsPath: string | null, addr: string, timeoutMs = 100): Promise<number> {
  const family = isIP(addr);
  if (family !== 4 && family !== 6) throw invalidArgument(`"${addr}" is not an IP address to ping`);
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
  try {
    return await addon.pingOnce(fd, addr, family, Math.max(1, Math.round(timeoutMs)));
  } catch (err) {
    const timedOut = (err as { code?: unknown }).code === 'ETIMEDOUT';
    const code = timedOut ? Code.DEADLINE_EXCEEDED : Code.UNAVAILABLE;
    const why = timedOut ? `no echo reply within ${timeoutMs} ms` : (err as Error).message;
    throw new NsmError(code, `ping ${addr} from ${nsPath ?? 'this namespace'}: ${why}`, { cause: err });
  } finally {
    addon.close(fd);
  }
}

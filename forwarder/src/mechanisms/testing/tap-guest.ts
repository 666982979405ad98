/**
 * For the tap tests: requests that ask for a tap, a look at the pod's bridge and tap, and
 * tap-guest.py run in a pod's namespace (a VM's NIC on the pod's tap, attached as qemu attaches).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { newMechanism } from '@nsm-ts/sdk/api';
import type { NetworkServiceRequest } from '@nsm-ts/sdk/api';
import { type TapOptions, withTap } from '@nsm-ts/sdk/elements';
import { ipJson } from '../../kernel/testing/netns-fixture.js';
import { clientRequest } from './harness.js';
import type { IpLink } from './inspect.js';

/** Label prefix of the tap tests' namespaces (`nsmt-tap<pid>...`), apart from any other run's. */
export const RUN = `tap${process.pid}`;

/**
 * A client request whose KERNEL mechanism asks for a tap named `name`; `extra` parameters are set
 * last, unchecked (to send bad ones).
 */
export function tapRequestFor(
  connId: string,
  nsPath: string,
  name: string,
  o: TapOptions = {},
  mtu?: number,
  extra: Record<string, string> = {},
): NetworkServiceRequest {
  const mechanism = withTap(newMechanism('KERNEL', 'LOCAL', { inodeURL: `file://${nsPath}`, name }), o);
  Object.assign(mechanism.parameters, extra);
  return clientRequest(connId, nsPath, { mechanism, ...(mtu ? { mtu } : {}) });
}

/** The names of the bridge's ports in namespace `ns`, sorted. */
export function portsOf(ns: string, bridge: string): string[] {
  return ipJson<IpLink[]>(ns, 'link', 'show', 'master', bridge)
    .map((l) => l.ifname)
    .sort();
}

/** /sys/class/net/<name>/tun_flags in namespace `ns` (IFF_TAP 0x2, IFF_NO_PI 0x1000 ...). */
export function tunFlags(ns: string, name: string): number {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${name}/tun_flags`], {
    encoding: 'utf8',
  });
  return Number(out.trim());
}

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'tap-guest.py');

/** What the stand-in guest reports. */
export interface GuestResult {
  /** 0: the peer answered the echo; 2: no answer in time; 3: could not attach to the tap. */
  readonly exit: number;
  readonly peerMac?: string | null;
  /** errno name when attaching failed, `timeout` when nothing answered. */
  readonly error?: string;
}

/** Options of {@link pingFromGuest}. */
export interface GuestOptions {
  readonly guestMac?: string;
  /** Attach with IFF_MULTI_QUEUE, as qemu with `queues=N`, N > 1. */
  readonly multiQueue?: boolean;
  /** Run as this uid and gid, without capabilities (an unprivileged qemu). */
  readonly uid?: number;
}

/**
 * Attaches to `tap` in namespace `ns` as a guest with address `guestIp`, resolves `peerIp` and pings
 * it once. The process is killed after 10 s whatever happens.
 * Usage: `expect(pingFromGuest(nsc.name, 'vm0', NSC_IP, NSE_IP).exit).toBe(0)`.
 */
export function pingFromGuest(
  ns: string,
  tap: string,
  guestIp: string,
  peerIp: string,
  o: GuestOptions = {},
): GuestResult {
  const script = [SCRIPT, tap, o.guestMac ?? '02:aa:00:00:00:01', guestIp, peerIp];
  if (o.multiQueue) script.push('--multi-queue');
  const user =
    o.uid === undefined
      ? []
      : ['setpriv', `--reuid=${o.uid}`, `--regid=${o.uid}`, '--clear-groups', '--inh-caps=-all'];
  // Another user may not reach an interpreter under root's home (pyenv): take the system's then.
  const python = o.uid !== undefined && existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const args = ['netns', 'exec', ns, ...user, python, ...script];
  let out: string;
  let exit = 0;
  try {
    out = execFileSync('ip', args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { status?: number | null; stdout?: string; stderr?: string };
    exit = e.status ?? -1;
    out = e.stdout ?? '';
    if (!out.trim()) return { exit, error: e.stderr ?? String(err) };
  }
  return { exit, ...(JSON.parse(out.trim().split('\n').pop() ?? '{}') as Omit<GuestResult, 'exit'>) };
}

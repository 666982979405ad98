/** Pings from inside a lab pod's namespace, with the forwarder's own ICMP (no `ping` binary). */
import { pingInNamespace } from '@nsm-ts/forwarder/liveness';

/** The address part of a CIDR such as `10.60.1.2/32`. */
export const hostPart = (cidr: string | undefined): string => (cidr ?? '').split('/')[0] ?? '';

/** Whether `to` answers one of three echoes of 1 s from the namespace `netns` (a name in /run/netns). */
export async function pingFrom(netns: string, to: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const ok = await pingInNamespace(`/run/netns/${netns}`, to, 1000).then(
      () => true,
      () => false,
    );
    if (ok) return true;
  }
  return false;
}

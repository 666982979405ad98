/**
 * The memif half of `nsm check`. A pod's memif has no kernel interface to ping from: the pod's role
 * pings the other end over the memif itself and answers ARP and ping there, and reports its counters
 * in its status file. Traffic from a memif side is proven when its probe is answered again after the
 * check began; traffic to it by a kernel ping from the other side, which only its responder answers.
 */
import { join } from 'node:path';
import type { Lab } from './lab.js';
import type { MemifView } from './links.js';
import type { MemifReport } from '../roles/memif-side.js';
import { readPodStatusFile } from '../roles/status-file.js';

const host = (cidr: string): string => cidr.split('/')[0] ?? '';

/** The memif report of `connectionId` as pod `pod` writes it now (client: its request; endpoint: what it serves). */
function currentReport(
  lab: Lab,
  pod: string,
  connectionId: string,
  side: 'client' | 'endpoint',
): MemifReport | undefined {
  const status = readPodStatusFile(join(lab.podDir, `${pod}.json`));
  if (side === 'client') return status?.requests.find((r) => r.connectionId === connectionId)?.memif;
  return status?.memifs?.find((m) => m.connectionId === connectionId);
}

/**
 * Whether the memif side `view` of pod `pod` is answered by `peerIp` after now: its probe's answered
 * count must grow, within `timeoutMs` (the roles write their counters every second). Returns the
 * report that proved it, or undefined (and a problem) when it did not come.
 */
export async function memifAnswered(
  lab: Lab,
  o: { pod: string; connectionId: string; side: 'client' | 'endpoint'; view: MemifView; peerIp: string },
  problems: string[],
  timeoutMs = 4000,
): Promise<MemifReport | undefined> {
  if (o.view.peerIp !== o.peerIp) {
    problems.push(`${o.pod}'s memif pings ${o.view.peerIp}, not ${o.peerIp}`);
    return undefined;
  }
  const since = Date.now();
  const before = o.view.probe.answered;
  for (;;) {
    const now = currentReport(lab, o.pod, o.connectionId, o.side);
    if (now && now.probe.answered > before && now.probe.lastAnswerAt >= since) return now;
    if (Date.now() - since >= timeoutMs) {
      const why = !now
        ? 'it reports no memif'
        : !now.up
          ? 'its memif is down'
          : `${now.probe.answered} of ${now.probe.sent} echo requests answered, none in ${timeoutMs / 1000} s`;
      problems.push(`${o.pod} cannot ping ${o.peerIp} over its memif ${o.view.socket} (${why})`);
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The MAC and address a memif side answers with, as a peer fact for the check. */
export function memifFacts(view: MemifView): { address: string; ips: string[] } {
  return { address: view.mac, ips: [host(view.ip)] };
}

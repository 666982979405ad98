/**
 * `nsm check`: proves every link a client holds with traffic both ways, for every address pair
 * (IPv4 and IPv6 on a dual-stack link), and proves the peer: each address answered must live on the
 * interface of the endpoint the mesh selected, and the client must have learned that interface's
 * MAC for it. Pings are the forwarder's own ICMP from inside the namespaces (no `ping` binary); a
 * memif side has no kernel to ping from, and its pod's own probe proves it (check-memif.ts).
 * Every link is checked; one failure fails the check.
 */
import { hostPart, pingFrom } from './ping-from.js';
import type { Lab, LabState } from './lab.js';
import type { LabStatus, LinkStatus } from './inspect.js';
import { memifAnswered, memifFacts } from './check-memif.js';
import { sh } from './system.js';
import { checkExternalLink, type ExternalPod } from './check-external.js';

/** The verdict on one link. */
export interface LinkCheck {
  client: string;
  endpoint: string;
  service: string;
  clientInterface: string;
  /** The first address pair, for the table; `pairs` has them all. */
  clientIp: string;
  endpointInterface: string;
  endpointIp: string;
  pairs: { clientIp: string; endpointIp: string; forward: boolean; reverse: boolean; peer: boolean }[];
  locality: 'local' | 'remote';
  nodes: string[];
  forward: boolean;
  reverse: boolean;
  peer: boolean;
  ok: boolean;
  problems: string[];
  /** What was not tried, and why (a memif left to a program the user attached). */
  notes: string[];
}

interface IpAddrJson {
  ifname: string;
  address?: string;
  addr_info?: { local: string }[];
}

async function linkFacts(netns: string, dev: string): Promise<IpAddrJson | undefined> {
  const out = await sh('ip', ['-n', netns, '-j', 'addr', 'show', 'dev', dev]).catch(() => '[]');
  return (JSON.parse(out || '[]') as IpAddrJson[])[0];
}

async function neighbourMac(netns: string, dev: string, ip: string): Promise<string | undefined> {
  const out = await sh('ip', ['-n', netns, '-j', 'neigh', 'show', 'dev', dev, 'to', ip]).catch(() => '[]');
  return (JSON.parse(out || '[]') as { lladdr?: string }[])[0]?.lladdr;
}

/** The endpoint's side as a peer: the MAC it answers with and the addresses it has. */
interface PeerFacts {
  address: string | undefined;
  ips: string[];
}

/** The endpoint's kernel interface as a peer, or undefined when it has none. */
async function kernelFacts(netns: string, dev: string): Promise<PeerFacts | undefined> {
  const facts = await linkFacts(netns, dev);
  return facts ? { address: facts.address, ips: (facts.addr_info ?? []).map((a) => a.local) } : undefined;
}

/** Traffic from one side to `to`: over its memif (its own probe), else a ping from its namespace. */
async function sends(
  lab: Lab,
  link: LinkStatus,
  side: 'client' | 'endpoint',
  to: string,
  problems: string[],
): Promise<{ ok: boolean; peerMac?: string }> {
  const pod = side === 'client' ? link.client : link.endpoint;
  const view = side === 'client' ? link.clientMemif : link.endpointMemif;
  if (view?.external) return { ok: false }; // not tried, not a problem: see checkLink's note
  if (view) {
    const connectionId = side === 'client' ? link.id : (view.connectionId ?? '');
    const report = await memifAnswered(lab, { pod, connectionId, side, view, peerIp: to }, problems);
    return report ? { ok: true, peerMac: report.probe.peerMac } : { ok: false };
  }
  if (await pingFrom(lab.netns(pod), to)) return { ok: true };
  const dev = side === 'client' ? link.clientInterface : link.endpointInterface;
  problems.push(`${pod} cannot ping ${to} over ${dev}`);
  return { ok: false };
}

/** Traffic both ways and the peer's identity for one address pair. */
async function checkPair(
  lab: Lab,
  link: LinkStatus,
  facts: PeerFacts | undefined,
  clientIp: string,
  endpointIp: string,
  problems: string[],
): Promise<LinkCheck['pairs'][number]> {
  const forward = await sends(lab, link, 'client', endpointIp, problems);
  const reverse = await sends(lab, link, 'endpoint', clientIp, problems);
  let peer = false;
  const where = link.endpointMemif
    ? `${link.endpoint}'s memif`
    : `${link.endpoint}/${link.endpointInterface}`;
  if (facts && !facts.ips.includes(endpointIp)) problems.push(`${endpointIp} is not on ${where}`);
  else if (facts && !link.clientMemif?.external) {
    // (A memif left to an attached program is not tried: see checkLink's note.)
    const mac = link.clientMemif
      ? forward.peerMac || undefined
      : await neighbourMac(lab.netns(link.client), link.clientInterface, endpointIp);
    peer = mac !== undefined && mac === facts.address;
    if (!peer)
      problems.push(
        `${link.client} reached ${endpointIp} at ${mac ?? 'no MAC'}, not at ${where} (${facts.address ?? '?'})`,
      );
  }
  return { clientIp, endpointIp, forward: forward.ok, reverse: reverse.ok, peer };
}

const isIpv4 = (cidr: string | undefined): boolean => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(cidr ?? '');

async function checkLink(
  lab: Lab,
  link: LinkStatus,
  registered: Set<string> | undefined,
  external: ExternalPod | undefined,
): Promise<LinkCheck> {
  const problems: string[] = [];
  if (link.state !== 'UP')
    problems.push(`the connection is ${link.state}${link.reason ? ` (${link.reason})` : ''}`);
  if (registered && !registered.has(link.endpoint))
    problems.push(`endpoint "${link.endpoint}" is not in the registry`);
  if (external) return checkExternalLink(lab, link, external, problems);
  // A memif side answers and pings over IPv4 only: the other pairs of a dual-stack link are not tried.
  const memif = link.clientMemif !== undefined || link.endpointMemif !== undefined;
  const all = Array.from({ length: Math.min(link.clientIps.length, link.endpointIps.length) }, (_, i) => i);
  const ipv4 = memif ? all.filter((i) => isIpv4(link.clientIps[i]) && isIpv4(link.endpointIps[i])) : all;
  // A tap's addresses are the guest's: the pod can neither ping from them nor be pinged at them.
  const tried = link.clientTap ? [] : ipv4;
  if (ipv4.length === 0)
    problems.push(
      memif ? 'the memif connection has no IPv4 address pair' : 'the connection has no addresses',
    );
  if (link.mechanism === 'MEMIF' && !link.clientMemif)
    problems.push(`${link.client} reports no memif for the connection`);
  const facts = link.endpointMemif
    ? memifFacts(link.endpointMemif)
    : await kernelFacts(lab.netns(link.endpoint), link.endpointInterface);
  if (!facts) problems.push(`${link.endpoint} has no interface "${link.endpointInterface}"`);
  const notes = link.clientMemif?.external
    ? [
        `traffic from ${link.client} and the peer's MAC are not tried: its memif ${link.clientMemif.socket} is left to the program attached to it (nsm-ts.io/memif: external)`,
      ]
    : link.clientTap
      ? [
          `traffic and the peer's MAC are not tried: ${link.client}'s ${link.clientInterface} is a tap (tap://), and its addresses are the guest's`,
        ]
      : [];
  const pairs: LinkCheck['pairs'] = [];
  for (const i of tried) {
    pairs.push(
      await checkPair(lab, link, facts, hostPart(link.clientIps[i]), hostPart(link.endpointIps[i]), problems),
    );
  }
  const every = (key: 'forward' | 'reverse' | 'peer'): boolean =>
    pairs.length > 0 && pairs.every((p) => p[key]);
  return {
    client: link.client,
    endpoint: link.endpoint,
    service: link.service,
    clientInterface: link.clientInterface,
    clientIp: hostPart(link.clientIps[0]),
    endpointInterface: link.endpointMemif ? 'memif' : link.endpointInterface,
    endpointIp: hostPart(link.endpointIps[0]),
    pairs,
    locality: link.locality,
    nodes: link.nodes,
    forward: every('forward'),
    reverse: every('reverse'),
    peer: every('peer'),
    ok: problems.length === 0,
    problems,
    notes,
  };
}

/** A requested connection the client does not hold right now, as a failed check. */
function missing(
  pod: LabState['pods'][number],
  request: LabState['pods'][number]['requests'][number],
  why: string,
): LinkCheck {
  return {
    client: pod.name,
    endpoint: '',
    service: request.service,
    clientInterface: request.ifname,
    clientIp: '',
    endpointInterface: '',
    endpointIp: '',
    pairs: [],
    locality: 'local',
    nodes: [pod.node],
    forward: false,
    reverse: false,
    peer: false,
    ok: false,
    notes: [],
    problems: [
      `${pod.name} asked for ${request.service} on ${request.ifname} but holds no such connection${why}`,
    ],
  };
}

/** Checks every link (in parallel, a few at a time), and that every requested connection is held. */
export async function check(lab: Lab, state: LabState, status: LabStatus): Promise<LinkCheck[]> {
  // Without the registry the traffic and MAC checks still prove the peer; only this cross-check is skipped.
  const registered = status.registryError ? undefined : new Set(status.endpoints.map((e) => e.name));
  const results: LinkCheck[] = [];
  const queue = [...status.links];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let link = queue.shift(); link; link = queue.shift())
        results.push(
          await checkLink(
            lab,
            link,
            registered,
            state.pods.find((p) => p.role === 'external' && p.endpoint === link.endpoint),
          ),
        );
    }),
  );
  for (const pod of state.pods) {
    const row = status.pods.find((p) => p.name === pod.name);
    for (const request of pod.requests) {
      if (status.links.some((l) => l.client === pod.name && l.clientInterface === request.ifname)) continue;
      const reason = row?.pending.find((p) => p.ifname === request.ifname)?.reason;
      const why = row?.state === 'stopped' ? ' (the pod is stopped)' : reason ? ` (${reason})` : '';
      results.push(missing(pod, request, why));
    }
  }
  return results.sort(
    (a, b) => a.client.localeCompare(b.client) || a.clientInterface.localeCompare(b.clientInterface),
  );
}

/**
 * `nsm check`: proves every link a client holds with traffic both ways, for every address pair
 * (IPv4 and IPv6 on a dual-stack link), and proves the peer: each address answered must live on the
 * interface of the endpoint the mesh selected, and the client must have learned that interface's
 * MAC for it. Pings are the forwarder's own ICMP from inside the namespaces (no `ping` binary).
 * Every link is checked; one failure fails the check.
 */
import { pingInNamespace } from '@nsm-ts/forwarder/liveness';
import type { Lab, LabState } from './lab.js';
import type { LabStatus, LinkStatus } from './inspect.js';
import { sh } from './system.js';

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
}

const host = (cidr: string | undefined): string => (cidr ?? '').split('/')[0] ?? '';

async function ping(netns: string, to: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const ok = await pingInNamespace(`/run/netns/${netns}`, to, 1000).then(
      () => true,
      () => false,
    );
    if (ok) return true;
  }
  return false;
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

/** Traffic both ways and the peer's identity for one address pair. */
async function checkPair(
  lab: Lab,
  link: LinkStatus,
  facts: IpAddrJson | undefined,
  clientIp: string,
  endpointIp: string,
  problems: string[],
): Promise<LinkCheck['pairs'][number]> {
  const clientNs = lab.netns(link.client);
  const forward = await ping(clientNs, endpointIp);
  if (!forward) problems.push(`${link.client} cannot ping ${endpointIp} over ${link.clientInterface}`);
  const reverse = await ping(lab.netns(link.endpoint), clientIp);
  if (!reverse) problems.push(`${link.endpoint} cannot ping ${clientIp} over ${link.endpointInterface}`);
  let peer = false;
  if (facts && !facts.addr_info?.some((a) => a.local === endpointIp))
    problems.push(`${endpointIp} is not on ${link.endpoint}/${link.endpointInterface}`);
  else if (facts) {
    const mac = await neighbourMac(clientNs, link.clientInterface, endpointIp);
    peer = mac !== undefined && mac === facts.address;
    if (!peer)
      problems.push(
        `${link.client} reached ${endpointIp} at ${mac ?? 'no MAC'}, not at ${link.endpoint}/${link.endpointInterface} (${facts.address ?? '?'})`,
      );
  }
  return { clientIp, endpointIp, forward, reverse, peer };
}

async function checkLink(
  lab: Lab,
  link: LinkStatus,
  registered: Set<string> | undefined,
): Promise<LinkCheck> {
  const problems: string[] = [];
  if (link.state !== 'UP') problems.push(`the connection is ${link.state}`);
  if (registered && !registered.has(link.endpoint))
    problems.push(`endpoint "${link.endpoint}" is not in the registry`);
  const count = Math.min(link.clientIps.length, link.endpointIps.length);
  if (count === 0) problems.push('the connection has no addresses');
  const facts = await linkFacts(lab.netns(link.endpoint), link.endpointInterface);
  if (!facts) problems.push(`${link.endpoint} has no interface "${link.endpointInterface}"`);
  const pairs: LinkCheck['pairs'] = [];
  for (let i = 0; i < count; i++) {
    pairs.push(
      await checkPair(lab, link, facts, host(link.clientIps[i]), host(link.endpointIps[i]), problems),
    );
  }
  const all = (key: 'forward' | 'reverse' | 'peer'): boolean =>
    pairs.length > 0 && pairs.every((p) => p[key]);
  return {
    client: link.client,
    endpoint: link.endpoint,
    service: link.service,
    clientInterface: link.clientInterface,
    clientIp: host(link.clientIps[0]),
    endpointInterface: link.endpointInterface,
    endpointIp: host(link.endpointIps[0]),
    pairs,
    locality: link.locality,
    nodes: link.nodes,
    forward: all('forward'),
    reverse: all('reverse'),
    peer: all('peer'),
    ok: problems.length === 0,
    problems,
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
        results.push(await checkLink(lab, link, registered));
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

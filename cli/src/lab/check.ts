/**
 * `nsm check`: proves every link with traffic both ways and proves the peer: the address answered
 * must live on the interface of the endpoint the mesh selected, and the client must have learned that
 * interface's MAC for it. Every link is checked; one failure fails the check.
 */
import type { Lab, LabState } from './lab.js';
import type { LabStatus, LinkStatus } from './inspect.js';
import { sh } from './system.js';

/** The verdict on one link. */
export interface LinkCheck {
  client: string;
  endpoint: string;
  service: string;
  clientInterface: string;
  clientIp: string;
  endpointInterface: string;
  endpointIp: string;
  locality: 'local' | 'remote';
  forward: boolean;
  reverse: boolean;
  peer: boolean;
  ok: boolean;
  problems: string[];
}

const host = (cidr: string | undefined): string => (cidr ?? '').split('/')[0] ?? '';

async function ping(netns: string, dev: string, to: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const ok = await sh('ip', [
      'netns',
      'exec',
      netns,
      'ping',
      '-n',
      '-q',
      '-c',
      '1',
      '-W',
      '1',
      '-I',
      dev,
      to,
    ]).then(
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

async function checkLink(
  lab: Lab,
  link: LinkStatus,
  registered: Set<string> | undefined,
): Promise<LinkCheck> {
  const clientNs = lab.netns(link.client);
  const endpointNs = lab.netns(link.endpoint);
  const clientIp = host(link.clientIps[0]);
  const endpointIp = host(link.endpointIps[0]);
  const problems: string[] = [];
  if (link.state !== 'UP') problems.push(`the manager reports the connection ${link.state}`);
  if (registered && !registered.has(link.endpoint))
    problems.push(`endpoint "${link.endpoint}" is not in the registry`);
  if (!clientIp || !endpointIp) problems.push('the connection has no addresses');
  const forward = clientIp !== '' && (await ping(clientNs, link.clientInterface, endpointIp));
  if (!forward) problems.push(`${link.client} cannot ping ${endpointIp} over ${link.clientInterface}`);
  const reverse = endpointIp !== '' && (await ping(endpointNs, link.endpointInterface, clientIp));
  if (!reverse) problems.push(`${link.endpoint} cannot ping ${clientIp} over ${link.endpointInterface}`);
  let peer = false;
  const facts = await linkFacts(endpointNs, link.endpointInterface);
  if (!facts) problems.push(`${link.endpoint} has no interface "${link.endpointInterface}"`);
  else if (!facts.addr_info?.some((a) => a.local === endpointIp))
    problems.push(`${endpointIp} is not on ${link.endpoint}/${link.endpointInterface}`);
  else {
    const mac = await neighbourMac(clientNs, link.clientInterface, endpointIp);
    peer = mac !== undefined && mac === facts.address;
    if (!peer)
      problems.push(
        `${link.client} reached ${endpointIp} at ${mac ?? 'no MAC'}, not at ${link.endpoint}/${link.endpointInterface} (${facts.address ?? '?'})`,
      );
  }
  return {
    client: link.client,
    endpoint: link.endpoint,
    service: link.service,
    clientInterface: link.clientInterface,
    clientIp,
    endpointInterface: link.endpointInterface,
    endpointIp,
    locality: link.locality,
    forward,
    reverse,
    peer,
    ok: problems.length === 0,
    problems,
  };
}

/** A requested connection that the mesh does not hold, as a failed check. */
function missing(
  pod: LabState['pods'][number],
  request: LabState['pods'][number]['requests'][number],
): LinkCheck {
  return {
    client: pod.name,
    endpoint: '',
    service: request.service,
    clientInterface: request.ifname,
    clientIp: '',
    endpointInterface: '',
    endpointIp: '',
    locality: 'local',
    forward: false,
    reverse: false,
    peer: false,
    ok: false,
    problems: [`${pod.name} asked for ${request.service} on ${request.ifname} but holds no such connection`],
  };
}

/** Checks every link (in parallel, a few at a time), and that every requested connection exists. */
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
    for (const request of pod.requests) {
      if (!status.links.some((l) => l.client === pod.name && l.clientInterface === request.ifname))
        results.push(missing(pod, request));
    }
  }
  return results.sort(
    (a, b) => a.client.localeCompare(b.client) || a.clientInterface.localeCompare(b.clientInterface),
  );
}

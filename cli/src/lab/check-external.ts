/**
 * `nsm check` of a link to an external VNF: the VNF is outside the mesh, so its side cannot be
 * looked into. What is proved instead: the VNF's address answers the client's ping over the link,
 * and every check target declared on the endpoint (annotation nsm-ts.io/check-targets: addresses to
 * ping, http:// URLs to fetch — e.g. a server the VNF routes to) answers from inside the client's pod,
 * so traffic the VNF routes onward is proved too.
 */
import { hostPart, pingFrom } from './ping-from.js';
import type { Lab, LabState } from './lab.js';
import type { LinkStatus } from './links.js';
import type { LinkCheck } from './check.js';
import { sh } from './system.js';

/** The lab's record of an external endpoint's gateway. */
export type ExternalPod = LabState['pods'][number];

/** An HTTP GET from inside `netns` (node's fetch run there); the status code, or the error. */
async function fetchFrom(netns: string, url: string): Promise<{ ok: boolean; what: string }> {
  const script =
    'fetch(process.argv[1],{signal:AbortSignal.timeout(3000)}).then(async r=>{await r.arrayBuffer();console.log(r.status)},e=>{console.log("error "+(e.cause?.code??e.message));})';
  const out = (
    await sh('ip', ['netns', 'exec', netns, process.execPath, '-e', script, url]).catch(
      (e: unknown) => `error ${String(e)}`,
    )
  ).trim();
  return { ok: /^[23]\d\d$/.test(out), what: /^\d+$/.test(out) ? `HTTP ${out}` : out };
}

/** Checks one link whose endpoint is the external VNF behind `external`. */
export async function checkExternalLink(
  lab: Lab,
  link: LinkStatus,
  external: ExternalPod,
  problems: string[],
): Promise<LinkCheck> {
  const netns = lab.netns(link.client);
  const clientIp = hostPart(link.clientIps[0]);
  const endpointIp = hostPart(link.endpointIps[0]);
  // A tap's addresses are the guest's: the pod cannot ping from them (its forwarder checks the VNF).
  if (link.clientTap)
    return {
      ...verdict(link, clientIp, endpointIp, false, problems),
      notes: [
        `traffic is not tried: ${link.client}'s ${link.clientInterface} is a tap (tap://), and its addresses are the guest's; the forwarder checks ${link.endpoint} with ARP from the pod's bridge`,
      ],
    };
  const forward = endpointIp !== '' && (await pingFrom(netns, endpointIp));
  if (!endpointIp) problems.push('the connection has no addresses');
  else if (!forward)
    problems.push(`${link.client} cannot ping the VNF's ${endpointIp} over ${link.clientInterface}`);
  const notes = [
    `${link.endpoint} is outside the mesh: the reply proves both directions; its interface is not looked into`,
  ];
  for (const target of external.checks ?? []) {
    if (/^https?:\/\//.test(target)) {
      const got = await fetchFrom(netns, target);
      if (got.ok) notes.push(`GET ${target}: ${got.what}`);
      else problems.push(`${link.client} cannot fetch ${target} through ${link.endpoint}: ${got.what}`);
    } else if (await pingFrom(netns, target)) notes.push(`${target} (beyond the VNF) answers ping`);
    else problems.push(`${link.client} cannot ping ${target} beyond ${link.endpoint}`);
  }
  return { ...verdict(link, clientIp, endpointIp, forward, problems), notes };
}

function verdict(
  link: LinkStatus,
  clientIp: string,
  endpointIp: string,
  forward: boolean,
  problems: string[],
): LinkCheck {
  return {
    client: link.client,
    endpoint: link.endpoint,
    service: link.service,
    clientInterface: link.clientInterface,
    clientIp,
    endpointInterface: '(external)',
    endpointIp,
    pairs: endpointIp && forward ? [{ clientIp, endpointIp, forward, reverse: forward, peer: forward }] : [],
    locality: link.locality,
    nodes: link.nodes,
    forward,
    reverse: forward,
    peer: forward,
    ok: problems.length === 0,
    problems,
    notes: [],
  };
}

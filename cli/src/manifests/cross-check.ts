/**
 * Checks across documents: unique pod and endpoint names, services that exist, address pools that
 * exist and do not overlap between endpoints (replicas of one Deployment may share theirs), and (as
 * warnings) requests that no endpoint would serve.
 */
import type { NetworkService } from '@nsm-ts/sdk/api';
import { newEndpoint } from '@nsm-ts/sdk/api';
import { matchEndpoints } from '@nsm-ts/sdk/elements';
import { formatCidr, overlaps } from '@nsm-ts/sdk/tools';
import { formatLabels } from '@nsm-ts/sdk/tools';
import type { EndpointDraft } from './endpoint-env.js';
import type { Manifests } from './kinds.js';
import { formatPosition, type Position } from './report.js';
import type { PodDraft } from './workload.js';

/** The endpoint name a pod registers: NSM_NAME when literal, else the pod name. */
export function endpointName(pod: PodDraft): string | undefined {
  return pod.endpoint && (pod.endpoint.name ?? pod.name);
}

function checkNames(pods: readonly PodDraft[]): void {
  const podNames = new Map<string, Position>();
  const nseNames = new Map<string, { at: Position; endpoint: EndpointDraft }>();
  const reported = new Set<object>();
  for (const pod of pods) {
    const first = podNames.get(pod.name);
    if (first) {
      const message = `pod "${pod.name}" also comes from ${formatPosition(first)}; expected unique pod names`;
      pod.doc.error(['metadata', 'name'], message);
    } else podNames.set(pod.name, pod.doc.at(['metadata', 'name']));
    const nse = endpointName(pod);
    if (!pod.endpoint || nse === undefined) continue;
    const namePath = pod.endpoint.at.name ?? ['metadata', 'name'];
    const firstNse = nseNames.get(nse);
    if (!firstNse) nseNames.set(nse, { at: pod.doc.at(namePath), endpoint: pod.endpoint });
    if (!firstNse || first || reported.has(pod.endpoint)) continue;
    reported.add(pod.endpoint);
    const where =
      firstNse.endpoint === pod.endpoint
        ? 'by every replica of this Deployment'
        : `also at ${formatPosition(firstNse.at)}`;
    pod.doc.error(
      namePath,
      `endpoint name "${nse}" is used ${where}; expected unique endpoint names ` +
        '(NSM_NAME, default the pod name; valueFrom.fieldRef.fieldPath: metadata.name gives each pod its own)',
    );
  }
}

function checkServices(templates: readonly PodDraft[], defined: ReadonlyMap<string, NetworkService>): void {
  const known = [...defined.keys()].join(', ') || 'none';
  for (const pod of templates) {
    for (const request of pod.client?.requests ?? []) {
      if (defined.has(request.service)) continue;
      pod.doc.error(
        pod.client?.path ?? [],
        `client requests network service "${request.service}", which no NetworkService defines; expected one of: ${known}`,
      );
    }
    for (const service of pod.endpoint?.serviceNames ?? []) {
      if (defined.has(service)) continue;
      pod.doc.error(
        pod.endpoint?.at.services ?? [],
        `endpoint provides network service "${service}", which no NetworkService defines; expected one of: ${known}`,
      );
    }
  }
}

interface Pool {
  pod: PodDraft;
  endpoint: EndpointDraft;
}

/** The endpoints of `templates`; reports those without NSM_CIDR_PREFIX that are no passthrough. */
function endpointPools(templates: readonly PodDraft[]): Pool[] {
  const pools: Pool[] = [];
  for (const pod of templates) {
    const endpoint = pod.endpoint;
    if (!endpoint) continue;
    if (!endpoint.at.cidr && !pod.client) {
      pod.doc.error(
        endpoint.at.services,
        'endpoint has no NSM_CIDR_PREFIX; expected a prefix such as 10.60.1.0/24 to hand out addresses to its clients (only a passthrough, which is also a client, may go without)',
      );
    }
    if (pod.client && endpoint.mechanisms.includes('MEMIF'))
      pod.doc.error(
        endpoint.at.mechanisms ?? endpoint.at.services,
        'a passthrough (an endpoint that is also a client) bridges kernel interfaces; expected NSM_MECHANISMS KERNEL (memif is for endpoints only)',
      );
    if (pod.client?.requests.some((r) => r.mechanism !== 'KERNEL'))
      pod.doc.error(
        pod.client.path,
        'a passthrough (an endpoint that is also a client) continues over kernel://; expected no memif:// in its annotation',
      );
    pools.push({ pod, endpoint });
  }
  return pools;
}

/**
 * Overlapping address pools. `pools` holds one entry per template, so the replicas of one Deployment,
 * which share its NSM_CIDR_PREFIX, are never compared: sharing is allowed, as upstream NSM allows it.
 * Every connection is point-to-point (a /32 or /128 pair in the client's own namespace), so replicas
 * handing out the same pair to different clients do not clash; the replicas are one endpoint to the
 * service (a request lands on one of them). Only a client holding two connections to that service could
 * get the same pair twice, which upstream accepts too. Distinct Deployments and Pods are distinct
 * endpoints and their pools must still not overlap: a client requesting both services, or a chain
 * through a passthrough, could hold the same address on two of its interfaces, and an overlap between
 * pools written separately is most often a copy-paste slip. The prefixes of one endpoint must not overlap
 * each other either (point2pointIpam refuses that too).
 */
function checkOverlaps(pools: readonly Pool[]): void {
  pools.forEach(({ pod, endpoint }, i) => {
    endpoint.cidrs.forEach((cidr, j) => {
      // Earlier templates, and earlier prefixes of this one: each overlap is reported once.
      const clash = pools
        .slice(0, i + 1)
        .flatMap((other) =>
          other.endpoint.cidrs
            .filter((c, k) => (other.endpoint !== endpoint || k < j) && overlaps(c, cidr))
            .map((c) => ({ other, c })),
        )[0];
      if (!clash || !endpoint.at.cidr) return;
      const where = formatPosition(clash.other.pod.doc.at(clash.other.endpoint.at.cidr ?? []));
      const hint = clash.other.endpoint === endpoint ? '' : ' (only replicas of one Deployment share a pool)';
      pod.doc.error(
        endpoint.at.cidr,
        `NSM_CIDR_PREFIX ${formatCidr(cidr)} overlaps ${formatCidr(clash.c)} of endpoint "${endpointName(clash.other.pod) ?? ''}" (${where}); expected address pools that do not overlap${hint}`,
      );
    });
  });
}

function warnUnserved(
  templates: readonly PodDraft[],
  pods: readonly PodDraft[],
  defined: ReadonlyMap<string, NetworkService>,
  externals: Manifests['externals'],
): void {
  for (const pod of templates) {
    for (const request of pod.client?.requests ?? []) {
      const ns = defined.get(request.service);
      // Selectors with templates depend on labels added at run time (nodeName ...): not decidable here.
      if (!ns || JSON.stringify(ns.matches).includes('{{')) continue;
      const nses = pods
        .filter((p) => p !== pod && p.endpoint?.serviceNames.includes(request.service))
        .map((p) =>
          newEndpoint({
            name: endpointName(p) ?? '',
            network_service_names: [request.service],
            network_service_labels: { [request.service]: { labels: p.endpoint?.labels ?? {} } },
          }),
        )
        .concat(
          externals
            .filter((e) => e.serviceNames.includes(request.service))
            .map((e) =>
              newEndpoint({
                name: e.name,
                network_service_names: [request.service],
                network_service_labels: { [request.service]: { labels: e.labels } },
              }),
            ),
        );
      try {
        if (matchEndpoints(ns, nses, request.labels).candidates.length > 0) continue;
      } catch {
        continue; // a malformed selector is already reported where the NetworkService is read
      }
      pod.doc.warn(
        pod.client?.path ?? [],
        `request for "${request.service}" on ${request.ifname} with labels ${formatLabels(request.labels)} matches no endpoint in these manifests`,
      );
    }
  }
}

/**
 * Runs the checks across `manifests`, reporting to each pod's document. Pods of one Deployment share
 * their parts, so a problem of the template is reported once. Usage: `crossCheck(readManifests(docs))`.
 */
export function crossCheck({ services, pods, externals }: Manifests): void {
  const defined = new Map(services.map(({ ns }) => [ns.name, ns]));
  const templates = pods.filter((pod, i) => pods.findIndex((p) => p.doc === pod.doc) === i);
  checkNames(pods);
  checkServices(templates, defined);
  checkOverlaps(endpointPools(templates));
  warnUnserved(templates, pods, defined, externals);
}

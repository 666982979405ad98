/**
 * Checks across documents: unique pod and endpoint names, services that exist, address pools that
 * exist and do not overlap, and (as warnings) requests that no endpoint would serve.
 */
import type { NetworkService } from '../../../sdk/src/api/types.js';
import { newEndpoint } from '../../../sdk/src/api/builders.js';
import { matchEndpoints } from '../../../sdk/src/networkservice/common/discover/match.js';
import { formatCidr, overlaps } from '../../../sdk/src/tools/cidr/cidr.js';
import { formatLabels } from '../../../sdk/src/tools/labels.js';
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

function checkPools(templates: readonly PodDraft[], replicas: ReadonlyMap<EndpointDraft, number>): void {
  const pools: { pod: PodDraft; endpoint: EndpointDraft }[] = [];
  for (const pod of templates) {
    const endpoint = pod.endpoint;
    if (!endpoint) continue;
    if (!endpoint.at.cidr && !pod.client) {
      pod.doc.error(
        endpoint.at.services,
        'endpoint has no NSM_CIDR_PREFIX; expected a prefix such as 10.60.1.0/24 to hand out addresses to its clients (only a passthrough, which is also a client, may go without)',
      );
    }
    const count = replicas.get(endpoint) ?? 1;
    if (count > 1 && endpoint.cidrs.length > 0 && endpoint.at.cidr) {
      pod.doc.error(
        endpoint.at.cidr,
        `${count} replicas would share NSM_CIDR_PREFIX ${endpoint.cidrPrefix.join(',')} and hand out the same addresses; expected one replica per address pool (a Deployment per pool)`,
      );
    }
    pools.push({ pod, endpoint });
  }
  pools.forEach(({ pod, endpoint }, i) => {
    endpoint.cidrs.forEach((cidr, j) => {
      const clash = pools
        .slice(0, i + 1)
        .flatMap((other) =>
          other.endpoint.cidrs
            .filter((c, k) => (other.endpoint !== endpoint || k < j) && overlaps(c, cidr))
            .map((c) => ({ other, c })),
        )[0];
      if (!clash || !endpoint.at.cidr) return;
      const where = formatPosition(clash.other.pod.doc.at(clash.other.endpoint.at.cidr ?? []));
      pod.doc.error(
        endpoint.at.cidr,
        `NSM_CIDR_PREFIX ${formatCidr(cidr)} overlaps ${formatCidr(clash.c)} of endpoint "${endpointName(clash.other.pod) ?? ''}" (${where}); expected address pools that do not overlap`,
      );
    });
  });
}

function warnUnserved(
  templates: readonly PodDraft[],
  pods: readonly PodDraft[],
  defined: ReadonlyMap<string, NetworkService>,
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
export function crossCheck({ services, pods }: Manifests): void {
  const defined = new Map(services.map(({ ns }) => [ns.name, ns]));
  const replicas = new Map<EndpointDraft, number>();
  for (const pod of pods) if (pod.endpoint) replicas.set(pod.endpoint, (replicas.get(pod.endpoint) ?? 0) + 1);
  const templates = pods.filter((pod, i) => pods.findIndex((p) => p.doc === pod.doc) === i);
  checkNames(pods);
  checkServices(templates, defined);
  checkPools(templates, replicas);
  warnUnserved(templates, pods, defined);
}

/** Which kinds the lab understands, and the dispatch of each document to its reader. */
import type { NetworkService } from '@nsm-ts/sdk/api';
import { mapAt, stringAt } from './fields.js';
import { dnsLabelProblem } from './names.js';
import { readNetworkService } from './network-service.js';
import { formatPosition, type ManifestDoc, type Position } from './report.js';
import { readDeployment, readPod, type PodDraft } from './workload.js';
import { readSriovConfigMap, SRIOV_CONFIG_MAP, type LabSriov } from './sriov.js';
import { readExternalEndpoint, type ExternalDraft } from './external.js';

/** The kinds the lab builds from, with the apiVersion each needs. */
export const KINDS = {
  NetworkService: 'networkservicemesh.io/v1',
  NetworkServiceEndpoint: 'networkservicemesh.io/v1',
  Pod: 'v1',
  Deployment: 'apps/v1',
} as const;
export type Kind = keyof typeof KINDS;

/** Kinds that are common beside NSM manifests but mean nothing in the lab: accepted with a warning. */
export const IGNORED_KINDS: readonly string[] = [
  'Namespace',
  'ConfigMap',
  'Service',
  'ServiceAccount',
  'Kustomization',
];

/** Everything the documents define, before placement and cross-checks. */
export interface Manifests {
  services: { ns: NetworkService; doc: ManifestDoc }[];
  pods: PodDraft[];
  /** NetworkServiceEndpoints: external VNFs reached over VXLAN. */
  externals: ExternalDraft[];
  /** The ConfigMap sriov-config: the lab's nodes get emulated NICs with its PFs. */
  sriov?: LabSriov;
}

const understood =
  Object.entries(KINDS)
    .map(([kind, apiVersion]) => `${apiVersion} ${kind}`)
    .join(', ') + ` (${IGNORED_KINDS.join(', ')} are accepted and ignored)`;

function isKind(kind: string): kind is Kind {
  return Object.hasOwn(KINDS, kind);
}

/** The kind of `doc` when the lab builds from it; reports unknown kinds and wrong apiVersions. */
function kindOf(doc: ManifestDoc): Kind | undefined {
  const apiVersion = stringAt(doc, ['apiVersion'], true, 'an apiVersion such as apps/v1');
  const kind = stringAt(doc, ['kind'], true, `a kind: one of ${understood}`);
  if (kind === undefined || apiVersion === undefined) return undefined;
  if (kind === 'ConfigMap' && doc.get(['metadata', 'name']) === SRIOV_CONFIG_MAP) return undefined;
  if (IGNORED_KINDS.includes(kind)) {
    doc.warn(['kind'], `kind ${kind} is not used by the lab; ignored`);
    return undefined;
  }
  if (!isKind(kind)) {
    doc.error(
      ['kind'],
      `unknown kind "${kind}" (apiVersion "${apiVersion}"); expected one of: ${understood}`,
    );
    return undefined;
  }
  if (apiVersion !== KINDS[kind]) {
    doc.error(
      ['apiVersion'],
      `kind ${kind} with apiVersion "${apiVersion}"; expected apiVersion ${KINDS[kind]}`,
    );
    return undefined;
  }
  return kind;
}

/**
 * The namespace of a Pod or Deployment (`metadata.namespace`, default `default`), checked as a
 * DNS-1123 label; undefined when it is bad (reported).
 */
function namespaceOf(doc: ManifestDoc): string | undefined {
  const ns = stringAt(doc, ['metadata', 'namespace'], false, 'a namespace (a DNS-1123 label)') ?? 'default';
  const bad = dnsLabelProblem(ns, 'namespace');
  if (bad) {
    doc.error(['metadata', 'namespace'], bad);
    return undefined;
  }
  return ns;
}

/**
 * A pod's name in the lab: its own in the `default` namespace, `<name>.<namespace>` in any other
 * (as Kubernetes' DNS names it), so that pods of one name in two namespaces stay two pods. The name
 * becomes the `podName` label, which allows 63 characters.
 */
function qualify(doc: ManifestDoc, pods: PodDraft[], namespace: string): PodDraft[] {
  if (namespace === 'default') return pods;
  const qualified = pods.map((pod) => ({ ...pod, name: `${pod.name}.${namespace}` }));
  const longest = qualified.reduce((a, p) => (p.name.length > a.length ? p.name : a), '');
  if (longest.length > 63) {
    doc.error(
      ['metadata', 'name'],
      `pod name "${longest}" (name.namespace) is ${longest.length} characters; expected at most 63: it becomes the podName label of its connections`,
    );
    return [];
  }
  return qualified;
}

/**
 * Reads every document: kinds, names (DNS-1123 labels, unique per kind and namespace) and each
 * kind's own fields. Usage: `const { services, pods } = readManifests(docs)`.
 */
export function readManifests(docs: readonly ManifestDoc[]): Manifests {
  const out: Manifests = { services: [], pods: [], externals: [] };
  const seen = new Map<string, Position>();
  for (const doc of docs) {
    if (doc.get(['kind']) === 'ConfigMap' && doc.get(['metadata', 'name']) === SRIOV_CONFIG_MAP) {
      const sriov = readSriovConfigMap(doc);
      // The same config twice is one config (examples run together each bring it, as kubectl apply allows).
      if (sriov && out.sriov && sriov.text !== out.sriov.text)
        doc.error(
          ['metadata', 'name'],
          `ConfigMap ${SRIOV_CONFIG_MAP} is defined twice with different configs; expected one SR-IOV config for the lab`,
        );
      else if (sriov) out.sriov = sriov;
    }
    const kind = kindOf(doc);
    if (!kind || !mapAt(doc, ['metadata'], true)) continue;
    const name = stringAt(doc, ['metadata', 'name'], true, 'a name (a DNS-1123 label)');
    if (name === undefined) continue;
    const bad = dnsLabelProblem(name, `${kind} name`);
    if (bad) {
      doc.error(['metadata', 'name'], bad);
      continue;
    }
    // NetworkServices and endpoints are one registry namespace (as upstream's registry has); workloads are per namespace.
    const namespace =
      kind === 'NetworkService' || kind === 'NetworkServiceEndpoint' ? 'default' : namespaceOf(doc);
    if (namespace === undefined) continue;
    const key = `${kind}/${namespace}/${name}`;
    const first = seen.get(key);
    if (first) {
      const where = namespace === 'default' ? '' : ` in namespace ${namespace}`;
      doc.error(
        ['metadata', 'name'],
        `${kind} "${name}"${where} is defined twice (first at ${formatPosition(first)}); expected unique ${kind} names`,
      );
      continue;
    }
    seen.set(key, doc.at(['metadata', 'name']));
    switch (kind) {
      case 'NetworkService':
        out.services.push({ ns: readNetworkService(doc, name), doc });
        break;
      case 'NetworkServiceEndpoint': {
        const external = readExternalEndpoint(doc, name);
        if (external) out.externals.push(external);
        break;
      }
      case 'Pod':
        out.pods.push(...qualify(doc, readPod(doc, name), namespace));
        break;
      case 'Deployment':
        out.pods.push(...qualify(doc, readDeployment(doc, name), namespace));
        break;
    }
  }
  return out;
}

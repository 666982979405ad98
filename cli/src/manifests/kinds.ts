/** Which kinds the lab understands, and the dispatch of each document to its reader. */
import type { NetworkService } from '../../../sdk/src/api/types.js';
import { mapAt, stringAt } from './fields.js';
import { dnsLabelProblem } from './names.js';
import { readNetworkService } from './network-service.js';
import { formatPosition, type ManifestDoc, type Position } from './report.js';
import { readDeployment, readPod, type PodDraft } from './workload.js';

/** The kinds the lab builds from, with the apiVersion each needs. */
export const KINDS = {
  NetworkService: 'networkservicemesh.io/v1',
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
 * Reads every document: kinds, names (DNS-1123 labels, unique per kind) and each kind's own fields.
 * Usage: `const { services, pods } = readManifests(docs)`.
 */
export function readManifests(docs: readonly ManifestDoc[]): Manifests {
  const out: Manifests = { services: [], pods: [] };
  const seen = new Map<string, Position>();
  for (const doc of docs) {
    const kind = kindOf(doc);
    if (!kind || !mapAt(doc, ['metadata'], true)) continue;
    const name = stringAt(doc, ['metadata', 'name'], true, 'a name (a DNS-1123 label)');
    if (name === undefined) continue;
    const bad = dnsLabelProblem(name, `${kind} name`);
    if (bad) {
      doc.error(['metadata', 'name'], bad);
      continue;
    }
    const first = seen.get(`${kind}/${name}`);
    if (first) {
      doc.error(
        ['metadata', 'name'],
        `${kind} "${name}" is defined twice (first at ${formatPosition(first)}); expected unique ${kind} names`,
      );
      continue;
    }
    seen.set(`${kind}/${name}`, doc.at(['metadata', 'name']));
    switch (kind) {
      case 'NetworkService':
        out.services.push({ ns: readNetworkService(doc, name), doc });
        break;
      case 'Pod':
        out.pods.push(...readPod(doc, name));
        break;
      case 'Deployment':
        out.pods.push(...readDeployment(doc, name));
        break;
    }
  }
  return out;
}

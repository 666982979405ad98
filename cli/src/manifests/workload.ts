/** Pods and Deployments: each becomes zero or more lab pods with a client and/or endpoint role. */
import {
  CLIENT_ANNOTATION,
  MEMIF_ANNOTATION,
  parseClientAnnotation,
  type ClientRequest,
} from './client-url.js';
import { readUserContainers, type ContainerDraft } from './containers.js';
import { readEndpoint, type EndpointDraft } from './endpoint-env.js';
import { FABRIC_HOST_ANNOTATION, readFabricHost, type FabricHost } from './external.js';
import { listAt, mapAt, stringAt, stringMapAt } from './fields.js';
import { labelProblems } from './names.js';
import { describe, formatPath, type FieldPath, type ManifestDoc } from './report.js';

/** The node label the lab places pods by, as Kubernetes names it. */
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** A pod as read, before placement, with where its parts are written for later cross-checks. */
export interface PodDraft {
  name: string;
  doc: ManifestDoc;
  source: { file: string; line: number };
  node?: { name: string; path: FieldPath };
  client?: { requests: ClientRequest[]; path: FieldPath; memifExternal?: true };
  endpoint?: EndpointDraft;
  /** A fabric host: outside the mesh, on the lab's physical network (annotation nsm-ts.io/fabric-address). */
  host?: FabricHost;
  /** Where its containers are (their resources.limits may ask for SR-IOV VFs). */
  containers: FieldPath[];
  /** The user's containers that have a command: run beside the role. */
  userContainers: ContainerDraft[];
}

function readNode(doc: ManifestDoc, spec: FieldPath): PodDraft['node'] {
  const nodeName = stringAt(doc, [...spec, 'nodeName'], false, 'a node name such as node-1');
  const selector = stringMapAt(doc, [...spec, 'nodeSelector']);
  for (const key of Object.keys(selector)) {
    if (key !== HOSTNAME_LABEL)
      doc.warn(
        [...spec, 'nodeSelector', key],
        `nodeSelector "${key}" is ignored in the lab; only ${HOSTNAME_LABEL} places pods`,
        'key',
      );
  }
  const hostname = selector[HOSTNAME_LABEL];
  const hostnamePath = [...spec, 'nodeSelector', HOSTNAME_LABEL];
  if (nodeName !== undefined && hostname !== undefined && nodeName !== hostname) {
    doc.error(
      hostnamePath,
      `nodeSelector ${HOSTNAME_LABEL} is "${hostname}" but spec.nodeName is "${nodeName}"; expected the same node in both`,
    );
  }
  if (nodeName !== undefined) return { name: nodeName, path: [...spec, 'nodeName'] };
  if (hostname !== undefined) return { name: hostname, path: hostnamePath };
  return undefined;
}

function readClient(doc: ManifestDoc, meta: FieldPath): PodDraft['client'] {
  const path = [...meta, 'annotations', CLIENT_ANNOTATION];
  mapAt(doc, [...meta, 'annotations']);
  const text = stringAt(doc, path, false, 'a string of kernel://<service>/<ifname>?<labels> URLs');
  if (text === undefined) return undefined;
  const { requests, problems } = parseClientAnnotation(text);
  for (const problem of problems) doc.error(path, problem);
  const memifPath = [...meta, 'annotations', MEMIF_ANNOTATION];
  const memif = stringAt(doc, memifPath, false, 'external or role');
  if (memif !== undefined && memif !== 'external' && memif !== 'role')
    doc.error(
      memifPath,
      `annotation ${MEMIF_ANNOTATION} is "${memif}"; expected external (a program you attach opens the memifs) or role (the default)`,
    );
  else if (memif === 'external' && !requests.some((r) => r.mechanism === 'MEMIF'))
    doc.warn(
      memifPath,
      `annotation ${MEMIF_ANNOTATION} has no effect: the pod asks for no memif:// connection`,
      'key',
    );
  return { requests, path, ...(memif === 'external' ? { memifExternal: true as const } : {}) };
}

/**
 * Reads the pod template at `base` (`[]` for a Pod, `['spec', 'template']` for a Deployment) and returns
 * one draft per name in `names`, or none when the template is neither client nor endpoint.
 */
export function readTemplate(
  doc: ManifestDoc,
  base: FieldPath,
  names: readonly string[],
  kind: string,
): PodDraft[] {
  const meta = [...base, 'metadata'];
  const labelsPath = [...meta, 'labels'];
  for (const problem of labelProblems(stringMapAt(doc, labelsPath), formatPath(labelsPath)))
    doc.error(labelsPath, problem);
  const client = readClient(doc, meta);
  const spec = [...base, 'spec'];
  if (!mapAt(doc, spec, true)) return [];
  const containers = listAt(doc, [...spec, 'containers'], 'a list of containers');
  if (containers.length === 0)
    doc.error(
      spec,
      `${formatPath([...spec, 'containers'])} is missing or empty; expected at least one container`,
    );
  const node = readNode(doc, spec);
  const endpoint = readEndpoint(doc, spec, names[0] ?? '');
  const host = readFabricHost(doc, meta);
  if (host && (client || endpoint)) {
    doc.error(
      host.path,
      `annotation ${FABRIC_HOST_ANNOTATION} makes the pod a host outside the mesh; expected no client annotation and no NSM_SERVICE_NAMES with it`,
    );
    return [];
  }
  if (host && names.length !== 1) {
    doc.error(host.path, `a fabric host has one address; expected replicas: 1`);
    return [];
  }
  if (!client && !endpoint && !host) {
    doc.warn(
      [],
      `${kind} "${String(doc.get(['metadata', 'name']))}" is neither a client (annotation ${CLIENT_ANNOTATION}) nor an endpoint (env NSM_SERVICE_NAMES); it is ignored in the lab`,
    );
    return [];
  }
  const source = { file: doc.file, line: doc.at([]).line };
  const containerPaths = containers.map((_, i) => [...spec, 'containers', i]);
  const userContainers = readUserContainers(doc, spec);
  return names.map((name) => ({
    name,
    doc,
    source,
    containers: containerPaths,
    userContainers,
    ...(node ? { node } : {}),
    ...(client ? { client } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(host ? { host } : {}),
  }));
}

/** Reads a `v1` Pod named `name`. */
export function readPod(doc: ManifestDoc, name: string): PodDraft[] {
  return readTemplate(doc, [], [name], 'Pod');
}

function readReplicas(doc: ManifestDoc): number {
  const replicas = doc.get(['spec', 'replicas']) ?? 1;
  if (typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 0) return replicas;
  doc.error(
    ['spec', 'replicas'],
    `spec.replicas is ${describe(replicas)}; expected an integer >= 0 (default 1)`,
  );
  return 0;
}

function checkSelector(doc: ManifestDoc): void {
  if (!mapAt(doc, ['spec', 'selector'], true)) return;
  const labels = stringMapAt(doc, ['spec', 'template', 'metadata', 'labels']);
  const wanted = stringMapAt(doc, ['spec', 'selector', 'matchLabels']);
  for (const [key, value] of Object.entries(wanted)) {
    if (labels[key] !== value) {
      doc.error(
        ['spec', 'selector', 'matchLabels', key],
        `spec.selector.matchLabels ${key}=${value} does not match the pod template; expected spec.template.metadata.labels to contain ${key}: ${value}`,
      );
    }
  }
}

/**
 * Reads an `apps/v1` Deployment named `name`: `spec.replicas` pods (default 1), named like the
 * Deployment when there is one replica and `<name>-1` ... `<name>-<n>` otherwise.
 */
export function readDeployment(doc: ManifestDoc, name: string): PodDraft[] {
  if (doc.get(['metadata', 'annotations', CLIENT_ANNOTATION]) !== undefined) {
    doc.error(
      ['metadata', 'annotations', CLIENT_ANNOTATION],
      `annotation ${CLIENT_ANNOTATION} on the Deployment itself does not reach its pods; expected it in spec.template.metadata.annotations`,
    );
  }
  const replicas = readReplicas(doc);
  checkSelector(doc);
  if (!mapAt(doc, ['spec', 'template'], true)) return [];
  const names = replicas === 1 ? [name] : Array.from({ length: replicas }, (_, i) => `${name}-${i + 1}`);
  const longest = names.at(-1) ?? name;
  if (longest.length > 63) {
    doc.error(
      ['spec', 'replicas'],
      `pod name "${longest}" would be ${longest.length} characters long; expected at most 63: shorten the Deployment name`,
    );
    return [];
  }
  return readTemplate(doc, ['spec', 'template'], replicas === 0 ? [name] : names, 'Deployment').slice(
    0,
    replicas,
  );
}

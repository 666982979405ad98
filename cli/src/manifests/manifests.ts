/**
 * Manifests to a lab plan: reads every YAML document under the given paths, validates all of them, and
 * returns what `nsm up` builds (network services, pods with their roles and nodes) or throws a
 * `ManifestError` listing every problem as `file:line:col: what is wrong; expected ...`.
 */
import type { NetworkService } from '@nsm-ts/sdk/api';
import type { ClientRequest } from './client-url.js';
import { assignTokens, labPools, readSriovLimits, type LabSriov } from './sriov.js';
import { crossCheck, endpointName } from './cross-check.js';
import { formatProblem, ManifestError, type ManifestProblem } from './errors.js';
import { KINDS, readManifests, type Manifests } from './kinds.js';
import { containersOf, type UserContainer } from './containers.js';
import { FABRIC, nodeNames, placePods } from './placement.js';
import { checkOutside } from './external-checks.js';
import { readDocuments } from './read.js';
import { Report, type ManifestDoc } from './report.js';

export { ManifestError, formatProblem, type ManifestProblem } from './errors.js';
export { parseClientAnnotation, CLIENT_ANNOTATION, type ClientRequest } from './client-url.js';
export { KINDS, IGNORED_KINDS } from './kinds.js';

/** The endpoint role of a pod. */
export interface EndpointPlan {
  /** The registered endpoint name: NSM_NAME, default the pod name. */
  name: string;
  serviceNames: string[];
  /** NSM_LABELS, for every service the endpoint provides. */
  labels: Record<string, string>;
  /** NSM_CIDR_PREFIX as written; empty only for a passthrough. */
  cidrPrefix: string[];
  /** NSM_MECHANISMS: the interfaces it serves (KERNEL, MEMIF). */
  mechanisms: string[];
}

/** One lab pod: a client, an endpoint, or both (a passthrough that forwards IP between its interfaces). */
export interface PodPlan {
  name: string;
  node: string;
  /** Where the Pod or Deployment that made it starts. */
  source: { file: string; line: number };
  /** `memifExternal`: a program the user attaches opens the memifs, not the lab's role. */
  client?: { requests: ClientRequest[]; memifExternal?: true };
  endpoint?: EndpointPlan;
  /** The SR-IOV tokens its node's device plugin would hand it: NSM_SRIOV_TOKENS_<pool> variables. */
  sriovTokens?: Record<string, string>;
  /** The user's containers with a command, run in its namespace beside the role. */
  containers?: UserContainer[];
  /** A fabric host: a namespace on the fabric (not a node) with this address, outside the mesh. */
  host?: { address: string; mtu?: number };
  /** The gateway of an external VNF (a NetworkServiceEndpoint with a vxlan:// URL); `endpoint` is its registration. */
  external?: { url: string; checks: string[] };
}

/** What `nsm up` creates. */
export interface LabPlan {
  services: NetworkService[];
  pods: PodPlan[];
  nodes: string[];
  /** The SR-IOV config (ConfigMap sriov-config): every node gets emulated NICs with its PFs. */
  sriov?: LabSriov;
  /** `file:line:col: ...` lines for what was accepted but is ignored in the lab. */
  warnings: string[];
}

/** Options of `loadManifests`. */
export interface LoadOptions {
  /** How many emulated nodes (`node-1` ... `node-<nodes>`); an integer >= 1. */
  nodes: number;
}

/** The SR-IOV tokens of each pod, from its containers' resources.limits; too few VFs on a node is reported. */
function sriovTokens(
  manifests: Manifests,
  placed: readonly (string | undefined)[],
): Map<string, Record<string, string>> {
  const pools = manifests.sriov ? labPools(manifests.sriov) : undefined;
  const names = pools ? new Set(pools.keys()) : undefined;
  const asking = manifests.pods.map((pod, i) => ({
    pod,
    name: pod.name,
    node: placed[i] ?? '',
    asked: readSriovLimits(pod.doc, pod.containers, names),
  }));
  if (!pools) return new Map();
  const { env, problems } = assignTokens(pools, asking);
  for (const problem of problems) {
    const pod = asking.find((a) => a.name === problem.pod)?.pod;
    pod?.doc.error(pod.containers[0] ?? [], problem.message);
  }
  return env;
}

/** What role a pod plays. Usage: `roleOf(pod) === 'passthrough'`. */
export function roleOf(pod: PodPlan): 'client' | 'endpoint' | 'passthrough' | 'host' | 'external' {
  if (pod.host) return 'host';
  if (pod.external) return 'external';
  return pod.client && pod.endpoint ? 'passthrough' : pod.client ? 'client' : 'endpoint';
}

/**
 * Reports `paths` that together hold no NetworkService, Pod or Deployment: `nsm up` would build an empty
 * lab. Skipped when a problem is reported already (a missing path, a file that is not YAML, a syntax
 * error ...): that problem explains the emptiness better than a second line would.
 */
function requireManifests(paths: readonly string[], docs: readonly ManifestDoc[], report: Report): void {
  if (report.problems.length > 0 || paths.length === 0) return;
  const kinds = docs.map((doc) => String(doc.get(['kind'])));
  if (kinds.some((kind) => Object.hasOwn(KINDS, kind))) return;
  const ignored = [...new Set(kinds)].join(', ');
  report.error(
    { file: '(arguments)', line: 0, col: 0 },
    `no manifests found in ${paths.join(', ')}${ignored ? ` (only kind ${ignored}, which the lab ignores)` : ''}; ` +
      'expected NetworkService, Pod or Deployment documents',
  );
}

function byPosition(files: readonly string[]): (a: ManifestProblem, b: ManifestProblem) => number {
  const order = (file: string): number => {
    const i = files.indexOf(file);
    return i < 0 ? -1 : i;
  };
  return (a, b) => order(a.file) - order(b.file) || a.line - b.line || a.col - b.col;
}

/**
 * Loads and validates every manifest under `paths` (files, or directories read recursively in sorted
 * order) and plans the lab on `options.nodes` nodes. Throws `ManifestError` with every problem found;
 * creates nothing. Usage: `const plan = loadManifests(['deploy/examples/4g-epc'], { nodes: 2 })`.
 */
export function loadManifests(paths: readonly string[], options: LoadOptions): LabPlan {
  const report = new Report();
  if (!Number.isInteger(options.nodes) || options.nodes < 1) {
    report.error({ file: '--nodes', line: 0, col: 0 }, `is ${options.nodes}; expected an integer >= 1`);
  }
  const nodes = nodeNames(Math.max(1, Math.floor(options.nodes) || 1));
  const { docs, files } = readDocuments(paths, report);
  const manifests = readManifests(docs);
  requireManifests(paths, docs, report);
  const placed = placePods(manifests.pods, nodes);
  const tokens = sriovTokens(manifests, placed);
  crossCheck(manifests);
  checkOutside(
    manifests.externals,
    manifests.pods,
    new Map(manifests.services.map(({ ns }) => [ns.name, ns])),
    nodes.length,
  );
  if (report.problems.length > 0) throw new ManifestError(report.problems.sort(byPosition(files)));
  return {
    services: manifests.services.map(({ ns }) => ns),
    pods: manifests.pods
      .map((pod, i) => ({
        name: pod.name,
        node: placed[i] ?? '',
        source: pod.source,
        ...(pod.client
          ? {
              client: {
                requests: pod.client.requests.map((r) => ({ ...r, labels: { ...r.labels } })),
                ...(pod.client.memifExternal ? { memifExternal: true as const } : {}),
              },
            }
          : {}),
        ...(pod.endpoint
          ? {
              endpoint: {
                name: endpointName(pod) ?? pod.name,
                serviceNames: [...pod.endpoint.serviceNames],
                labels: { ...pod.endpoint.labels },
                cidrPrefix: [...pod.endpoint.cidrPrefix],
                mechanisms: [...pod.endpoint.mechanisms],
              },
            }
          : {}),
        ...(tokens.has(pod.name) ? { sriovTokens: tokens.get(pod.name)! } : {}),
        ...(pod.userContainers.length > 0 ? { containers: containersOf(pod.userContainers, pod.name) } : {}),
        ...(pod.host
          ? { host: { address: pod.host.address, ...(pod.host.mtu ? { mtu: pod.host.mtu } : {}) } }
          : {}),
      }))
      .concat(
        manifests.externals.map((ext) => ({
          name: ext.name,
          node: FABRIC,
          source: ext.source,
          endpoint: {
            name: ext.name,
            serviceNames: [...ext.serviceNames],
            labels: { ...ext.labels },
            cidrPrefix: [],
            mechanisms: [],
          },
          external: { url: ext.url, checks: [...ext.checks] },
        })),
      ),
    nodes,
    ...(manifests.sriov ? { sriov: manifests.sriov } : {}),
    warnings: report.warnings.sort(byPosition(files)).map(formatProblem),
  };
}

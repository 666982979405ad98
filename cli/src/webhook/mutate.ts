/**
 * What the admission webhook does to an object: a Pod, or the pod template of a Deployment,
 * StatefulSet, DaemonSet or ReplicaSet (not one a Deployment owns: its Deployment was mutated already),
 * annotated `networkservicemesh.io` on the object, its template or (for Pods) its namespace, gets the
 * mesh client. The client comes as an init container that makes the connections before the app starts
 * and a sidecar that keeps them (refresh, heal), both the `nsc` command with `NSM_NETWORK_SERVICES`
 * (the annotation), `NSM_NAME` (the pod's name), the manager's socket directory from the host, and their
 * identity: from the mesh issuer (a projected service-account token and the trust bundle ConfigMap) or
 * from the host's SPIRE agent socket. The two share an emptyDir with the status file (NSM_POD_STATUS)
 * through which the sidecar takes over the init container's connections, interfaces untouched; the webhook's own labels are merged into the pod's. The change is answered as a JSON Patch built by fast-json-patch from
 * the object before and after.
 */
import { basename, dirname } from 'node:path';
import fastJsonPatch from 'fast-json-patch';
import { ISSUER_AUDIENCE, ISSUER_DEFAULTS } from '@nsm-ts/sdk/security';
import { CLIENT_ANNOTATION, parseClientAnnotation } from '../manifests/client-url.js';

const { compare } = fastJsonPatch;

/** How the webhook mutates. */
export interface MutateOptions {
  /** The annotation that asks for the client (default `networkservicemesh.io`). */
  annotation: string;
  /** The image of the injected containers (it runs the `nsc` command). */
  image: string;
  /** The host directory holding the manager's socket. */
  socketDir: string;
  /** The manager's socket URL inside that directory, as the client sees it. */
  managerUrl: string;
  /** Extra environment for the injected containers. */
  env: Record<string, string>;
  /** Labels merged into the pod's (the pod's own win). */
  labels: Record<string, string>;
  /**
   * The host directory of the SPIRE agent's socket (agent.sock), mounted into the client containers
   * with SPIFFE_ENDPOINT_SOCKET pointing at it; '' mounts nothing (identities come by NSM_ENVS then).
   */
  spireSocketDir: string;
  /**
   * The mesh issuer's URL ('' for none): the client containers get NSM_ISSUER_URL, a projected
   * service-account token for it and the trust bundle ConfigMap of the pod's namespace.
   */
  issuerUrl: string;
  /** The ConfigMap with the trust bundle that the issuer keeps in every namespace. */
  bundleConfigMap: string;
}

/** Defaults as the deployment uses them. */
export const MUTATE_DEFAULTS: Omit<MutateOptions, 'image'> = {
  annotation: CLIENT_ANNOTATION,
  socketDir: '/var/lib/networkservicemesh',
  managerUrl: 'unix:///var/lib/networkservicemesh/nsm.io.sock',
  env: {},
  labels: {},
  spireSocketDir: '/run/spire/sockets',
  issuerUrl: '',
  bundleConfigMap: 'nsm-trust-bundle',
};

/** What to answer. */
export type Decision =
  { allowed: true; patch?: readonly unknown[]; reason: string } | { allowed: false; reason: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const annotationsOf = (meta: unknown): Record<string, string> =>
  isObj(meta) && isObj(meta['annotations']) ? (meta['annotations'] as Record<string, string>) : {};
const labelsOf = (meta: unknown): Record<string, string> =>
  isObj(meta) && isObj(meta['labels']) ? (meta['labels'] as Record<string, string>) : {};

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'];
const VOLUME = 'nsm-socket';
const SPIRE_VOLUME = 'nsm-spire-agent-socket';
const TOKEN_VOLUME = 'nsm-issuer-token';
/** Shared by the init container and the sidecar: the connections the first hands to the second. */
const STATE_VOLUME = 'nsm-client-state';
const STATE_DIR = '/var/run/nsm-client';
const BUNDLE_VOLUME = 'nsm-trust-bundle';
const INIT = 'nsm-client-init';
const SIDECAR = 'nsm-client';

/** The volumes of an identity from the issuer: a projected token for it, and the trust bundle. */
export function issuerVolumes(bundleConfigMap: string): Obj[] {
  return [
    {
      name: TOKEN_VOLUME,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: ISSUER_AUDIENCE,
              expirationSeconds: 3600,
              path: basename(ISSUER_DEFAULTS.tokenFile),
            },
          },
        ],
      },
    },
    {
      name: BUNDLE_VOLUME,
      configMap: {
        name: bundleConfigMap,
        items: [{ key: 'bundle.pem', path: basename(ISSUER_DEFAULTS.caFile) }],
      },
    },
  ];
}

/**
 * Decides on `object` of `kind` (namespace annotations given for Pods). Throws an Error naming what is
 * wrong when the object is not shaped as its kind must be.
 */
export function mutate(
  kind: string,
  object: unknown,
  namespaceAnnotations: Record<string, string>,
  options: MutateOptions,
): Decision {
  if (!isObj(object)) throw new Error(`request.object is not an object: expected a ${kind}`);
  const meta = object['metadata'];
  let podPath: string[];
  let value: string | undefined;
  if (kind === 'Pod') {
    podPath = ['spec'];
    value = annotationsOf(meta)[options.annotation] ?? namespaceAnnotations[options.annotation];
  } else if (WORKLOADS.includes(kind)) {
    const owners =
      isObj(meta) && Array.isArray(meta['ownerReferences']) ? (meta['ownerReferences'] as Obj[]) : [];
    if (kind === 'ReplicaSet' && owners.some((o) => o['kind'] === 'Deployment'))
      return { allowed: true, reason: 'a ReplicaSet of a Deployment: the Deployment carries the client' };
    const spec = object['spec'];
    const template = isObj(spec) ? spec['template'] : undefined;
    if (!isObj(template)) throw new Error(`${kind} has no spec.template: expected a pod template`);
    podPath = ['spec', 'template', 'spec'];
    value =
      annotationsOf(template['metadata'])[options.annotation] ?? annotationsOf(meta)[options.annotation];
  } else {
    return { allowed: true, reason: `${kind} is not a kind the webhook changes` };
  }
  if (value === undefined) return { allowed: true, reason: `no ${options.annotation} annotation` };
  const { problems } = parseClientAnnotation(value);
  const own = problems.filter((p) => !p.includes('is not supported in the lab'));
  if (own.length > 0)
    return { allowed: false, reason: `annotation ${options.annotation}: "${value}": ${own.join('; ')}` };

  const after = structuredClone(object);
  let pod: Obj = after;
  for (const key of podPath) {
    if (!isObj(pod[key])) pod[key] = {};
    pod = pod[key] as Obj;
  }
  const containers = Array.isArray(pod['containers']) ? (pod['containers'] as Obj[]) : [];
  if (containers.length === 0) throw new Error(`the pod spec at ${podPath.join('.')} has no containers`);
  if (containers.some((c) => c['name'] === SIDECAR))
    return { allowed: true, reason: 'the client is injected already' };
  const env = [
    { name: 'NSM_NETWORK_SERVICES', value },
    { name: 'NSM_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'NSM_CONNECT_TO', value: options.managerUrl },
    { name: 'NSM_POD_STATUS', value: `${STATE_DIR}/status.json` },
    ...(options.spireSocketDir
      ? [{ name: 'SPIFFE_ENDPOINT_SOCKET', value: `unix://${options.spireSocketDir}/agent.sock` }]
      : []),
    ...(options.issuerUrl ? [{ name: 'NSM_ISSUER_URL', value: options.issuerUrl }] : []),
    ...Object.entries(options.env).map(([name, v]) => ({ name, value: v })),
  ];
  const mounts = [
    { name: VOLUME, mountPath: options.socketDir, readOnly: true },
    { name: STATE_VOLUME, mountPath: STATE_DIR },
    ...(options.spireSocketDir
      ? [{ name: SPIRE_VOLUME, mountPath: options.spireSocketDir, readOnly: true }]
      : []),
    ...(options.issuerUrl
      ? [
          { name: TOKEN_VOLUME, mountPath: dirname(ISSUER_DEFAULTS.tokenFile), readOnly: true },
          { name: BUNDLE_VOLUME, mountPath: dirname(ISSUER_DEFAULTS.caFile), readOnly: true },
        ]
      : []),
  ];
  const container = (name: string, args: string[]): Obj => ({
    name,
    image: options.image,
    args,
    env,
    volumeMounts: mounts,
  });
  pod['initContainers'] = [
    ...(Array.isArray(pod['initContainers']) ? (pod['initContainers'] as Obj[]) : []),
    container(INIT, ['nsc', '--once']),
  ];
  pod['containers'] = [...containers, container(SIDECAR, ['nsc'])];
  pod['volumes'] = [
    ...(Array.isArray(pod['volumes']) ? (pod['volumes'] as Obj[]) : []),
    { name: VOLUME, hostPath: { path: options.socketDir, type: 'Directory' } },
    { name: STATE_VOLUME, emptyDir: {} },
    ...(options.spireSocketDir
      ? [{ name: SPIRE_VOLUME, hostPath: { path: options.spireSocketDir, type: 'Directory' } }]
      : []),
    ...(options.issuerUrl ? issuerVolumes(options.bundleConfigMap) : []),
  ];
  if (Object.keys(options.labels).length > 0) {
    const metaPath = kind === 'Pod' ? ['metadata'] : ['spec', 'template', 'metadata'];
    let m: Obj = after;
    for (const key of metaPath) {
      if (!isObj(m[key])) m[key] = {};
      m = m[key] as Obj;
    }
    m['labels'] = { ...options.labels, ...labelsOf(m) };
  }
  return { allowed: true, patch: compare(object, after), reason: `client for ${value}` };
}

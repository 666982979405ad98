/**
 * SR-IOV in the lab's manifests. The ConfigMap `sriov-config` holds the forwarders' SR-IOV config
 * (key `config.yaml`, upstream's format), as upstream deploys it; the lab gives every node emulated
 * NICs with the PFs it names. A container asks for VFs as a Kubernetes pod does, with
 * `resources.limits: { <serviceDomain>/<capability>: <n> }`; the lab hands it that many tokens of
 * its node's pool, as a device plugin does (NSM_SRIOV_TOKENS_<pool>), each token a VF of its own.
 */
import { parseSriovConfig, poolNamesOf, sriovTokenId, type SriovConfig } from '@nsm-ts/forwarder/sriov';
import { emulatedVfAddress } from '@nsm-ts/forwarder/sriov/emulated';
import { isRecord, formatPath, type FieldPath, type ManifestDoc } from './report.js';

/** The ConfigMap the lab reads the SR-IOV config from, and its key. */
export const SRIOV_CONFIG_MAP = 'sriov-config';
export const SRIOV_CONFIG_KEY = 'config.yaml';
/** VFs the lab emulates per PF. */
export const EMULATED_VFS = 4;

/** The SR-IOV config of the lab, as written. */
export interface LabSriov {
  config: SriovConfig;
  /** The config file's text, for the forwarders. */
  text: string;
}

/** Reads the ConfigMap `sriov-config`; problems are reported at its position. */
export function readSriovConfigMap(doc: ManifestDoc): LabSriov | undefined {
  const path: FieldPath = ['data', SRIOV_CONFIG_KEY];
  const text = doc.get(path);
  if (typeof text !== 'string') {
    doc.error(
      path,
      `ConfigMap ${SRIOV_CONFIG_MAP} has no ${formatPath(path)}; expected the forwarders' SR-IOV config (upstream's format) under that key`,
    );
    return undefined;
  }
  try {
    const config = parseSriovConfig(text, `ConfigMap ${SRIOV_CONFIG_MAP} ${formatPath(path)}`);
    for (const pf of config.physicalFunctions)
      if (pf.virtualFunctions)
        doc.error(
          path,
          `PF ${pf.address} lists virtualFunctions; expected none in the lab, which emulates ${EMULATED_VFS} VFs per PF at the functions after the PF's`,
        );
    return { config, text };
  } catch (err) {
    doc.error(path, (err as Error).message);
    return undefined;
  }
}

/** The pools the config offers: name → the VF addresses of one node (the same on every node). */
export function labPools(sriov: LabSriov): Map<string, string[]> {
  const pools = new Map<string, string[]>();
  for (const pf of sriov.config.physicalFunctions) {
    const vfs = emulatedVfs(pf.address);
    for (const name of poolNamesOf(pf)) pools.set(name, [...(pools.get(name) ?? []), ...vfs]);
  }
  return pools;
}

/** The addresses the emulation gives a PF's VFs. */
export function emulatedVfs(pfAddress: string): string[] {
  return Array.from({ length: EMULATED_VFS }, (_, i) => emulatedVfAddress(pfAddress, i));
}

/** The pools a container asks for in `resources.limits`, with the count, checked against `pools`. */
export function readSriovLimits(
  doc: ManifestDoc,
  containers: FieldPath[],
  pools: ReadonlySet<string> | undefined,
): Record<string, number> {
  const asked: Record<string, number> = {};
  for (const container of containers) {
    const path = [...container, 'resources', 'limits'];
    const limits = doc.get(path);
    if (!isRecord(limits)) continue;
    for (const [name, value] of Object.entries(limits)) {
      if (!name.includes('/') || name.includes('kubernetes.io/')) continue;
      if (!pools?.has(name)) {
        const known = pools ? [...pools].join(', ') : `none: no ConfigMap ${SRIOV_CONFIG_MAP}`;
        doc.warn(
          [...path, name],
          `resources.limits ${name} is no SR-IOV pool of the lab (pools: ${known}); ignored`,
          'key',
        );
        continue;
      }
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isInteger(n) || n < 1) {
        doc.error(
          [...path, name],
          `resources.limits ${name} is ${JSON.stringify(value)}; expected a whole number of VFs, at least 1`,
        );
        continue;
      }
      asked[name] = (asked[name] ?? 0) + n;
    }
  }
  return asked;
}

/**
 * Tokens for the pods of one node, as a device plugin hands them out: each pod's asked count of
 * distinct VFs of the pool, from the pool's last VF down. Returns the env of each pod, or the problem when the node
 * has too few VFs.
 */
export function assignTokens(
  pools: Map<string, string[]>,
  pods: { name: string; node: string; asked: Record<string, number> }[],
): { env: Map<string, Record<string, string>>; problems: { pod: string; message: string }[] } {
  const env = new Map<string, Record<string, string>>();
  const problems: { pod: string; message: string }[] = [];
  const used = new Map<string, Set<string>>(); // node → VF addresses handed out
  for (const pod of pods) {
    const taken = used.get(pod.node) ?? new Set<string>();
    used.set(pod.node, taken);
    for (const [pool, n] of Object.entries(pod.asked)) {
      // From the last VF down: the forwarder takes VFs without a token (for an endpoint that holds
      // none) from the first up, as upstream selects, so the two meet only on a full node.
      const free = (pools.get(pool) ?? [])
        .filter((vf) => !taken.has(vf))
        .reverse()
        .slice(0, n);
      if (free.length < n) {
        problems.push({
          pod: pod.name,
          message: `pod ${pod.name} asks for ${n} VF(s) of ${pool}, but ${pod.node} has ${free.length} left of ${pools.get(pool)?.length ?? 0} (the lab emulates ${EMULATED_VFS} per PF); expected fewer VFs asked on that node`,
        });
        continue;
      }
      for (const vf of free) taken.add(vf);
      const vars = env.get(pod.name) ?? {};
      vars[`NSM_SRIOV_TOKENS_${pool}`] = free.map((vf) => sriovTokenId(pool, vf)).join(',');
      env.set(pod.name, vars);
    }
  }
  return { env, problems };
}

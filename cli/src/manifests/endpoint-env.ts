/**
 * The endpoint role of a pod, from a container's environment as upstream NSEs read it:
 * `NSM_SERVICE_NAMES` (comma list), `NSM_LABELS` (`k:v,k2:v2`), `NSM_CIDR_PREFIX` (comma list) and
 * `NSM_NAME` (defaults to the pod name); and ours, `NSM_MECHANISMS` (the interfaces it serves: KERNEL,
 * the default, and/or MEMIF).
 */
import type { Cidr } from '@nsm-ts/sdk/tools';
import { parsePoolPrefix } from '@nsm-ts/sdk/tools';
import { parseLabels } from '@nsm-ts/sdk/tools';
import { listAt, mapAt } from './fields.js';
import { dnsLabelProblem, labelProblems } from './names.js';
import { describe, formatPath, isRecord, type FieldPath, type ManifestDoc } from './report.js';

/** An endpoint as read, with where each part is written for later cross-checks. */
export interface EndpointDraft {
  /** NSM_NAME when it is a literal; undefined means the pod's name (also `fieldRef: metadata.name`). */
  name?: string;
  serviceNames: string[];
  labels: Record<string, string>;
  cidrPrefix: string[];
  /** Parsed prefixes, in the order of `cidrPrefix`. */
  cidrs: Cidr[];
  /** NSM_MECHANISMS: KERNEL and/or MEMIF, default KERNEL. */
  mechanisms: string[];
  at: { services: FieldPath; cidr?: FieldPath; name?: FieldPath; mechanisms?: FieldPath };
}

/** One env variable of a container: its value and where it is written. */
interface EnvValue {
  value: string;
  path: FieldPath;
  /** Set by `valueFrom.fieldRef.fieldPath: metadata.name`: the value is each pod's own name. */
  podName?: true;
  /** Set when the value could not be read (already reported): checks of the value are skipped. */
  unresolved?: true;
}

function envValue(doc: ManifestDoc, path: FieldPath, podName: string): EnvValue | undefined {
  const entry = doc.get(path);
  if (!isRecord(entry)) return undefined;
  if (typeof entry['value'] === 'string') return { value: entry['value'], path: [...path, 'value'] };
  const fieldPath = doc.get([...path, 'valueFrom', 'fieldRef', 'fieldPath']);
  if (fieldPath === 'metadata.name') return { value: podName, path: [...path, 'valueFrom'], podName: true };
  const what = formatPath([...path, 'value']);
  const found = entry['value'] !== undefined ? describe(entry['value']) : 'missing';
  doc.error(
    path,
    `${what} of ${String(entry['name'])} is ${found}; expected a string value ` +
      '(or valueFrom.fieldRef.fieldPath: metadata.name, the only valueFrom the lab resolves)',
  );
  return { value: '', path, unresolved: true };
}

/** The NSM_* variables of the container at `path`. */
function nsmEnv(doc: ManifestDoc, path: FieldPath, podName: string): Map<string, EnvValue> {
  const found = new Map<string, EnvValue>();
  listAt(doc, [...path, 'env'], 'a list of { name, value }').forEach((entry, i) => {
    const name = isRecord(entry) ? entry['name'] : undefined;
    if (typeof name !== 'string' || !name.startsWith('NSM_')) return;
    const entryPath = [...path, 'env', i];
    const value = envValue(doc, entryPath, podName);
    if (value !== undefined) found.set(name, value);
  });
  return found;
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function readCidrs(doc: ManifestDoc, env: EnvValue | undefined): { texts: string[]; cidrs: Cidr[] } {
  const out = { texts: [] as string[], cidrs: [] as Cidr[] };
  if (env && list(env.value).length === 0) {
    doc.error(
      env.path,
      'NSM_CIDR_PREFIX is empty; expected a comma-separated list of prefixes such as 10.60.1.0/24',
    );
  }
  for (const text of list(env?.value ?? '')) {
    try {
      // The SDK's rule (point2pointIpam refuses the same prefixes when the endpoint starts).
      out.cidrs.push(parsePoolPrefix(text));
      out.texts.push(text);
    } catch (err) {
      if (env)
        doc.error(env.path, `NSM_CIDR_PREFIX: ${(err as Error).message.replace(': expected', '; expected')}`);
    }
  }
  return out;
}

function readServiceNames(doc: ManifestDoc, env: EnvValue | undefined): string[] {
  if (!env) return [];
  const names = list(env.value);
  if (names.length === 0) {
    doc.error(env.path, 'NSM_SERVICE_NAMES is empty; expected a comma-separated list of network services');
  }
  for (const name of names) {
    const bad = dnsLabelProblem(name, 'NSM_SERVICE_NAMES: network service');
    if (bad) doc.error(env.path, bad);
  }
  return names;
}

function readLabels(doc: ManifestDoc, env: EnvValue | undefined): Record<string, string> {
  if (!env) return {};
  const problems: string[] = [];
  const labels = parseLabels(env.value, 'NSM_LABELS', problems);
  problems.push(...labelProblems(labels, 'NSM_LABELS'));
  for (const problem of problems) {
    const text = problem.includes('expected')
      ? problem.replace(': expected', '; expected')
      : `${problem}; expected each key once`;
    doc.error(env.path, text);
  }
  return labels;
}

/** The mechanisms an endpoint image serves. */
export const ENDPOINT_MECHANISMS = ['KERNEL', 'MEMIF'];

function readMechanisms(doc: ManifestDoc, env: EnvValue | undefined): string[] {
  if (!env) return ['KERNEL'];
  const names = list(env.value).map((m) => m.toUpperCase());
  if (names.length === 0)
    doc.error(env.path, 'NSM_MECHANISMS is empty; expected KERNEL, MEMIF or KERNEL,MEMIF');
  for (const name of names)
    if (!ENDPOINT_MECHANISMS.includes(name))
      doc.error(
        env.path,
        `NSM_MECHANISMS: "${name}" is not served by the lab's endpoints; expected KERNEL or MEMIF`,
      );
  return names.filter((n) => ENDPOINT_MECHANISMS.includes(n));
}

/**
 * Reads the endpoint role of the pod spec at `spec`, if a container sets NSM_SERVICE_NAMES; a second
 * such container is an error (one endpoint per pod in the lab). `podName` stands for the pod's name where
 * a value comes from `fieldRef: metadata.name`. Usage: `readEndpoint(doc, ['spec'], 'mme')`.
 */
export function readEndpoint(doc: ManifestDoc, spec: FieldPath, podName: string): EndpointDraft | undefined {
  let env: Map<string, EnvValue> | undefined;
  const containers = listAt(doc, [...spec, 'containers'], 'a list of containers');
  for (const i of containers.keys()) {
    const path = [...spec, 'containers', i];
    if (!mapAt(doc, path, true)) continue;
    const vars = nsmEnv(doc, path, podName);
    const services = vars.get('NSM_SERVICE_NAMES');
    if (!services) continue;
    if (!env) env = vars;
    else
      doc.error(
        services.path,
        'a second container sets NSM_SERVICE_NAMES; expected one endpoint container per pod',
      );
  }
  const services = env?.get('NSM_SERVICE_NAMES');
  if (!env || !services) return undefined;
  // Unresolved values are reported already; checking them again would only repeat the problem.
  const known = (name: string): EnvValue | undefined => {
    const value = env?.get(name);
    return value?.unresolved ? undefined : value;
  };
  const serviceNames = readServiceNames(doc, known('NSM_SERVICE_NAMES'));
  const labels = readLabels(doc, known('NSM_LABELS'));
  const nameVar = known('NSM_NAME');
  const nameProblem = nameVar && dnsLabelProblem(nameVar.value, 'NSM_NAME');
  if (nameVar && nameProblem) doc.error(nameVar.path, nameProblem);
  const cidrVar = env.get('NSM_CIDR_PREFIX');
  const { texts, cidrs } = readCidrs(doc, known('NSM_CIDR_PREFIX'));
  const mechVar = known('NSM_MECHANISMS');
  const mechanisms = readMechanisms(doc, mechVar);
  return {
    ...(nameVar && !nameVar.podName ? { name: nameVar.value } : {}),
    serviceNames,
    labels,
    cidrPrefix: texts,
    cidrs,
    mechanisms,
    at: {
      ...(mechVar ? { mechanisms: mechVar.path } : {}),
      services: services.path,
      ...(cidrVar ? { cidr: cidrVar.path } : {}),
      ...(env.has('NSM_NAME') ? { name: env.get('NSM_NAME')?.path ?? [] } : {}),
    },
  };
}

/**
 * The user's own containers of a pod. The lab pulls no images, but a container's `command:` (and
 * `args:`) runs in the pod's network namespace beside the built-in role, with the container's
 * `env` values: a client pod's containers are the user's (the mesh client is what the admission
 * webhook adds), an endpoint pod's are all but the one that sets NSM_SERVICE_NAMES (the endpoint
 * role itself). A container without a command has nothing the lab can run.
 */
import { listAt, mapAt } from './fields.js';
import { describe, formatPath, isRecord, type FieldPath, type ManifestDoc } from './report.js';

/** One env variable of a user container: a value, or the pod's own name (fieldRef metadata.name). */
export type ContainerEnv = { name: string; value: string } | { name: string; podName: true };

/** A user container as read: its command line and env. */
export interface ContainerDraft {
  name: string;
  command: string[];
  env: ContainerEnv[];
}

/** A user container of one pod, as the pod's role runs it. */
export interface UserContainer {
  name: string;
  command: string[];
  env: Record<string, string>;
}

function stringList(doc: ManifestDoc, path: FieldPath, example: string): string[] | undefined {
  const value = doc.get(path);
  if (value === undefined) return undefined;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) return value;
  doc.error(
    path,
    `${formatPath(path)} is ${describe(value)}; expected a non-empty list of strings such as ${example}`,
  );
  return undefined;
}

function envOf(doc: ManifestDoc, path: FieldPath): ContainerEnv[] {
  const out: ContainerEnv[] = [];
  listAt(doc, [...path, 'env'], 'a list of { name, value }').forEach((entry, i) => {
    if (!isRecord(entry) || typeof entry['name'] !== 'string') return;
    const name = entry['name'];
    if (typeof entry['value'] === 'string') out.push({ name, value: entry['value'] });
    else if (doc.get([...path, 'env', i, 'valueFrom', 'fieldRef', 'fieldPath']) === 'metadata.name')
      out.push({ name, podName: true });
    else if (!name.startsWith('NSM_'))
      doc.warn(
        [...path, 'env', i],
        `env ${name} has no value the lab can resolve (only value and valueFrom.fieldRef.fieldPath: metadata.name); the container runs without it`,
      );
  });
  return out;
}

/** The user containers of the pod spec at `spec`. */
export function readUserContainers(doc: ManifestDoc, spec: FieldPath): ContainerDraft[] {
  const out: ContainerDraft[] = [];
  listAt(doc, [...spec, 'containers'], 'a list of containers').forEach((c, i) => {
    const path = [...spec, 'containers', i];
    if (!mapAt(doc, path, true) || !isRecord(c)) return;
    const env = envOf(doc, path);
    if (env.some((e) => e.name === 'NSM_SERVICE_NAMES')) return; // the endpoint role
    const command = stringList(doc, [...path, 'command'], '[sleep, infinity]');
    const args = stringList(doc, [...path, 'args'], '["-c", "echo hi"]');
    if (!command) {
      if (args)
        doc.warn(
          [...path, 'args'],
          'args without command: the lab runs no images, so there is no entrypoint to give them to; ignored',
        );
      return;
    }
    const name = typeof c['name'] === 'string' ? c['name'] : `container-${i}`;
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name))
      doc.error([...path, 'name'], `container name "${name}" is not a DNS-1123 label; expected e.g. "web"`);
    else if (out.some((o) => o.name === name))
      doc.error(
        [...path, 'name'],
        `container name "${name}" is used twice in this pod; expected a name per container`,
      );
    out.push({ name, command: [...command, ...(args ?? [])], env });
  });
  return out;
}

/** The containers of pod `podName`, with its name where a variable asks for it. */
export function containersOf(drafts: readonly ContainerDraft[], podName: string): UserContainer[] {
  return drafts.map((d) => ({
    name: d.name,
    command: [...d.command],
    env: Object.fromEntries(d.env.map((e) => [e.name, 'value' in e ? e.value : podName])),
  }));
}

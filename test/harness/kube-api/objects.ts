/**
 * The object store of the Kubernetes API test server: namespaced objects of the served resources, one
 * resourceVersion counter for all of them (as etcd's revision), the history of changes a watch resumes
 * from, and label and field selectors. A test double for a cluster's API server, written from the API
 * conventions (https://kubernetes.io/docs/reference/using-api/api-concepts/); it holds no product logic.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** An object as the API stores it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    generation: number;
    creationTimestamp: string;
    labels?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** One change, as a watch reports it. */
export interface Change {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  revision: number;
}

/** A served resource. */
export interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** Cluster-scoped (no namespace in its paths), as namespaces and webhook configurations are. */
  clusterScoped?: boolean;
}

/** `group/version`, or `v1` for the core group. */
export const apiVersionOf = (def: ResourceDef): string =>
  def.group ? `${def.group}/${def.version}` : def.version;

/** A Status body, as the API answers a failure. */
export function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** An API error: the HTTP code and a Status body's reason and message. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`, comma-separated: a label selector. */
export function labelMatcher(selector: string | null): (labels: Record<string, string>) => boolean {
  if (!selector) return () => true;
  const terms = selector.match(/([^,(]+(\([^)]*\))?)/g) ?? [];
  const tests = terms.map((raw) => {
    const term = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const values = m[3]!.split(',').map((v) => v.trim());
      const [key, op] = [m[1]!, m[2]!];
      return (l: Record<string, string>) => (op === 'in') === (key in l && values.includes(l[key]!));
    }
    if ((m = term.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/))) {
      const [key, op, value] = [m[1]!, m[2]!, m[3]!];
      return (l: Record<string, string>) => (op === '!=') !== (l[key] === value);
    }
    if ((m = term.match(/^(!?)([\w./-]+)$/))) {
      const [not, key] = [m[1] === '!', m[2]!];
      return (l: Record<string, string>) => not !== key in l;
    }
    throw new ApiError(
      400,
      'BadRequest',
      `unable to parse requirement: "${term}" in labelSelector "${selector}"`,
    );
  });
  return (labels) => tests.every((t) => t(labels));
}

/** `metadata.name=x`, `metadata.namespace!=y`, comma-separated: a field selector (the fields every kind has). */
export function fieldMatcher(selector: string | null): (obj: KubeObject) => boolean {
  if (!selector) return () => true;
  const tests = selector.split(',').map((raw) => {
    const m = raw.trim().match(/^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/);
    if (!m)
      throw new ApiError(
        400,
        'BadRequest',
        `field label not supported: "${raw.trim()}": expected metadata.name or metadata.namespace`,
      );
    const [field, op, value] = [m[1]!, m[2]!, m[3]!];
    return (o: KubeObject) =>
      (op === '!=') !== ((field === 'metadata.name' ? o.metadata.name : o.metadata.namespace) === value);
  });
  return (obj) => tests.every((t) => t(obj));
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The objects of every served resource, by `<plural>/<namespace>/<name>`. */
export class ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  private history: { plural: string; change: Change }[] = [];
  /** Revisions below this are compacted: a watch from one of them gets 410 Gone. */
  private compactedTo = 0;
  private revision = 0;
  private readonly listeners = new Set<(plural: string, change: Change) => void>();

  get currentRevision(): number {
    return this.revision;
  }

  /** Hears every change (the watch streams). */
  subscribe(listener: (plural: string, change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets the history: a watch from any revision before now gets 410 Gone (etcd compaction). */
  compact(): void {
    this.compactedTo = this.revision;
    this.history = [];
  }

  private commit(plural: string, type: Change['type'], object: KubeObject): KubeObject {
    const change: Change = { type, object: structuredClone(object), revision: this.revision };
    this.history.push({ plural, change });
    for (const l of this.listeners) l(plural, change);
    return structuredClone(object);
  }

  /** The changes of `plural` after `revision`, or 410 Gone when that revision was compacted. */
  since(plural: string, revision: number): Change[] {
    if (revision < this.compactedTo)
      throw new ApiError(410, 'Expired', `too old resource version: ${revision} (${this.compactedTo})`);
    return this.history
      .filter((e) => e.plural === plural && e.change.revision > revision)
      .map((e) => e.change);
  }

  list(plural: string, namespace: string | undefined): KubeObject[] {
    const out: KubeObject[] = [];
    for (const [key, obj] of this.objects)
      if (key.startsWith(`${plural}/`) && (namespace === undefined || obj.metadata.namespace === namespace))
        out.push(structuredClone(obj));
    return out.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
  }

  get(plural: string, namespace: string, name: string): KubeObject {
    const obj = this.objects.get(`${plural}/${namespace}/${name}`);
    if (!obj) throw new ApiError(404, 'NotFound', `${plural} "${name}" not found`);
    return structuredClone(obj);
  }

  create(plural: string, namespace: string, body: KubeObject): KubeObject {
    const name = body.metadata?.name ?? '';
    if (!NAME.test(name))
      throw new ApiError(
        422,
        'Invalid',
        `${plural} "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
      );
    if (body.metadata.namespace && body.metadata.namespace !== namespace)
      throw new ApiError(
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    const key = `${plural}/${namespace}/${name}`;
    if (this.objects.has(key)) throw new ApiError(409, 'AlreadyExists', `${plural} "${name}" already exists`);
    this.revision++;
    const obj: KubeObject = {
      ...structuredClone(body),
      metadata: {
        ...structuredClone(body.metadata),
        name,
        namespace,
        uid: randomUUID(),
        resourceVersion: String(this.revision),
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    };
    this.objects.set(key, obj);
    return this.commit(plural, 'ADDED', obj);
  }

  replace(plural: string, namespace: string, name: string, body: KubeObject): KubeObject {
    const current = this.get(plural, namespace, name);
    if (body.metadata?.name !== name)
      throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    const rv = body.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion)
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    this.revision++;
    // generation counts changes of anything but metadata and status (spec, or webhooks, rules ...).
    const content = (o: KubeObject) => JSON.stringify({ ...o, metadata: undefined, status: undefined });
    const specChanged = content(body) !== content(current);
    const obj: KubeObject = {
      ...structuredClone(body),
      metadata: {
        ...structuredClone(body.metadata),
        namespace,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        generation: current.metadata.generation + (specChanged ? 1 : 0),
        resourceVersion: String(this.revision),
      },
    };
    this.objects.set(`${plural}/${namespace}/${name}`, obj);
    return this.commit(plural, 'MODIFIED', obj);
  }

  delete(
    plural: string,
    namespace: string,
    name: string,
    preconditions: { resourceVersion?: string; uid?: string } = {},
  ): KubeObject {
    const current = this.get(plural, namespace, name);
    for (const field of ['resourceVersion', 'uid'] as const) {
      const wanted = preconditions[field];
      if (wanted !== undefined && wanted !== current.metadata[field])
        throw new ApiError(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${plural} "${name}": Precondition failed: ${field === 'uid' ? 'UID' : 'ResourceVersion'} in precondition: ${wanted}, ${field === 'uid' ? 'UID' : 'ResourceVersion'} in object meta: ${current.metadata[field]}`,
        );
    }
    this.revision++;
    this.objects.delete(`${plural}/${namespace}/${name}`);
    return this.commit(plural, 'DELETED', {
      ...current,
      metadata: { ...current.metadata, resourceVersion: String(this.revision) },
    });
  }
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `the request body is not JSON: ${(err as Error).message}`);
  }
}

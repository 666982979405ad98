/**
 * What a lab was given: every manifest document `nsm up` and `nsm apply` received, one file per
 * object (`<kind>.<namespace>.<name>.yaml` under the lab's `applied/` directory), as the API server
 * keeps the objects a cluster was given. `nsm apply` replaces and adds objects, `nsm delete -f`
 * removes them; both validate the whole result as `nsm up` would before anything changes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { listFiles } from '../../manifests/read.js';
import { Report } from '../../manifests/report.js';
import { ManifestError } from '../../manifests/errors.js';
import type { Lab } from '../lab.js';
import { LabPreconditionError } from '../system.js';

/** One object of the manifests, by kind, namespace and name. */
export interface ObjectDoc {
  /** `<kind>.<namespace>.<name>`: what apply and delete match on. */
  readonly key: string;
  readonly kind: string;
  readonly name: string;
  /** The document's YAML. */
  readonly text: string;
  /** Where it was read from. */
  readonly file: string;
}

/** The directory of a lab's applied objects. */
export function appliedDir(lab: Lab): string {
  return join(lab.dir, 'applied');
}

/**
 * The objects in the YAML files `paths` name (directories expanded as `nsm up` does). Documents
 * without a kind and a name are left out: `nsm up` ignores or refuses them with its own message.
 * Unreadable paths and YAML errors are a ManifestError, as with `nsm up`.
 */
export function objectsOf(paths: readonly string[]): ObjectDoc[] {
  const report = new Report();
  const files = listFiles(paths, report);
  const out: ObjectDoc[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      report.error({ file, line: 0, col: 0 }, `cannot be read (${String(err)}); expected a readable file`);
      continue;
    }
    for (const doc of parseAllDocuments(text)) {
      if ('errors' in doc && doc.errors.length > 0) {
        report.error({ file, line: 0, col: 0 }, `is not valid YAML: ${doc.errors[0]?.message ?? ''}`);
        continue;
      }
      const value: unknown = doc.toJS();
      if (typeof value !== 'object' || value === null) continue;
      const v = value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
      if (typeof v.kind !== 'string' || typeof v.metadata?.name !== 'string') continue;
      const namespace = typeof v.metadata.namespace === 'string' ? v.metadata.namespace : 'default';
      out.push({
        key: `${v.kind}.${namespace}.${v.metadata.name}`,
        kind: v.kind,
        name: v.metadata.name,
        text: doc.toString(),
        file,
      });
    }
  }
  if (report.problems.length > 0) throw new ManifestError(report.problems);
  return out;
}

/** The objects a lab holds, by key (none for a lab made before `applied/` existed). */
export function readApplied(lab: Lab): Map<string, ObjectDoc> {
  const dir = appliedDir(lab);
  const out = new Map<string, ObjectDoc>();
  if (!existsSync(dir)) return out;
  for (const o of objectsOf([dir])) out.set(o.key, o);
  return out;
}

/** Replaces the lab's applied objects with `objects`. */
export function writeApplied(lab: Lab, objects: Iterable<ObjectDoc>): void {
  rmSync(appliedDir(lab), { recursive: true, force: true });
  writeObjects(appliedDir(lab), objects);
}

/**
 * Runs `fn` holding the lab's apply lock (`<lab>/apply.lock`, made exclusively), so that two
 * `nsm apply`/`nsm delete -f` never change one lab at once. A lock whose process is gone is taken over.
 */
export async function withApplyLock<T>(lab: Lab, fn: () => Promise<T>): Promise<T> {
  const file = join(lab.dir, 'apply.lock');
  const take = (): void => writeFileSync(file, String(process.pid), { flag: 'wx' });
  try {
    take();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number(readFileSync(file, 'utf8'));
    if (alive(holder))
      throw new LabPreconditionError(
        `lab "${lab.name}" is being changed by another nsm apply or delete -f (process ${holder}); expected one at a time`,
      );
    rmSync(file, { force: true }); // left by a process that is gone
    take();
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes `objects` into `dir` (one file each), for loading them beside other files. */
export function writeObjects(dir: string, objects: Iterable<ObjectDoc>): void {
  mkdirSync(dir, { recursive: true });
  for (const o of objects) writeFileSync(join(dir, `${fileNameOf(o.key)}.yaml`), o.text);
}

/** A key as a file name: what a name may hold stays, anything else becomes `_`. */
function fileNameOf(key: string): string {
  return key.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Whether `dir` holds any applied object (a lab made by this version of `nsm up`). */
export function hasApplied(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.yaml'));
}

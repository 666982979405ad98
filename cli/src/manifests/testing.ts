/** Test helpers: manifests written to temporary directories, and positions of text within them. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ManifestError } from './errors.js';
import { loadManifests } from './manifests.js';

/** Temporary directories of manifests; `cleanup()` removes them all (call it in `afterEach`). */
export class Fixtures {
  private readonly dirs: string[] = [];
  private readonly texts = new Map<string, string>();

  /** Writes `files` (relative path → text) under a new directory and returns the directory. */
  write(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'nsm-manifests-'));
    this.dirs.push(dir);
    for (const [name, text] of Object.entries(files)) {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      this.texts.set(path, text);
    }
    return dir;
  }

  /** `file:line:col` of the `nth` occurrence of `needle` in a file written by `write`. */
  at(file: string, needle: string, nth = 0): string {
    const text = this.texts.get(file) ?? '';
    let offset = -1;
    for (let i = 0; i <= nth; i++) offset = text.indexOf(needle, offset + 1);
    if (offset < 0) throw new Error(`"${needle}" not found in ${file}`);
    const before = text.slice(0, offset).split('\n');
    return `${file}:${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    this.texts.clear();
  }
}

/** The problem lines `loadManifests` throws; fails when it does not throw a ManifestError. */
export function problemsOf(paths: string[], nodes = 2): string[] {
  try {
    loadManifests(paths, { nodes });
  } catch (err) {
    if (err instanceof ManifestError) return err.message.split('\n');
    throw err;
  }
  throw new Error('expected loadManifests to throw a ManifestError');
}

/** A NetworkService document. */
export function serviceYaml(name = 'svc', spec = 'payload: IP'): string {
  return `apiVersion: networkservicemesh.io/v1\nkind: NetworkService\nmetadata:\n  name: ${name}\nspec:\n  ${spec.replaceAll('\n', '\n  ')}\n`;
}

/** A client Pod with `url` as its annotation; `spec` lines are added to the pod spec. */
export function clientYaml(name: string, url: string, spec = ''): string {
  return (
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  annotations:\n    networkservicemesh.io: ${url}\n` +
    `spec:\n${spec ? `  ${spec}\n` : ''}  containers:\n    - name: c\n      image: alpine:3.20\n`
  );
}

/** An endpoint Pod with `env` as the container environment; `spec` lines are added to the pod spec. */
export function endpointYaml(name: string, env: Record<string, string>, spec = ''): string {
  const vars = Object.entries(env)
    .map(([k, v]) => `        - name: ${k}\n          value: "${v}"\n`)
    .join('');
  return (
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n${spec ? `  ${spec}\n` : ''}` +
    `  containers:\n    - name: nse\n      image: nse\n      env:\n${vars}`
  );
}

/** Finding the YAML files under the given paths and parsing every document in them, with positions. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, type YAMLError } from 'yaml';
import { describe, isRecord, ManifestDoc, type Report } from './report.js';

const YAML_EXTENSIONS = ['.yaml', '.yml'];

function isYaml(file: string): boolean {
  return YAML_EXTENSIONS.includes(extname(file).toLowerCase());
}

/** YAML files under `dir`, depth first, entries sorted by name so that every run reads the same order. */
function walk(dir: string, out: string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    // Hidden entries are editor and VCS state, never manifests; a kustomization is kustomize's index
    // of the manifests beside it (so one directory serves `nsm up` and `kubectl apply -k`).
    if (entry.name.startsWith('.') || /^kustomization\.ya?ml$/i.test(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile() && isYaml(entry.name)) out.push(path);
  }
}

/**
 * The YAML files `paths` name, each once, in the order given (directories expanded and sorted). Reports
 * a path that cannot be read, a file given by name that is not .yaml or .yml (inside a directory such
 * files, and kustomization.yaml, are skipped silently), and a directory without any YAML file.
 */
export function listFiles(paths: readonly string[], report: Report): string[] {
  const files: string[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    const key = resolve(file);
    if (!seen.has(key)) files.push(file);
    seen.add(key);
  };
  if (paths.length === 0)
    report.error(
      { file: '(arguments)', line: 0, col: 0 },
      'no path given; expected YAML files or directories of them',
    );
  for (const path of paths) {
    const at = { file: path, line: 0, col: 0 };
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      report.error(
        at,
        `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); expected a YAML file or a directory of them`,
      );
      continue;
    }
    if (!isDir) {
      // Named explicitly, a README or a script is a mistake, not something to skip as in a directory.
      if (isYaml(path)) add(path);
      else report.error(at, 'is not a .yaml or .yml file; expected a YAML manifest or a directory of them');
      continue;
    }
    const found: string[] = [];
    walk(path, found);
    if (found.length === 0)
      report.error(at, 'directory holds no .yaml or .yml file; expected manifests in it or below it');
    found.forEach(add);
  }
  return files;
}

function reportYamlErrors(
  file: string,
  lines: LineCounter,
  report: Report,
  errors: readonly YAMLError[],
  warn = false,
): void {
  for (const err of errors) {
    const { line, col } = lines.linePos(err.pos[0]);
    const message = `${warn ? 'YAML' : 'YAML syntax error'}: ${err.message}`;
    if (warn) report.warn({ file, line, col }, message);
    else report.error({ file, line, col }, `${message}; expected valid YAML`);
  }
}

/** Parses every document of `file`; documents with syntax errors are reported and left out. */
export function parseFile(file: string, text: string, report: Report): ManifestDoc[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  if ('empty' in docs) {
    reportYamlErrors(file, lines, report, docs.errors);
    return [];
  }
  const out: ManifestDoc[] = [];
  for (const doc of docs) {
    reportYamlErrors(file, lines, report, doc.warnings, true);
    if (doc.errors.length > 0) {
      reportYamlErrors(file, lines, report, doc.errors);
      continue;
    }
    if (doc.contents === null) continue;
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (err) {
      const { line, col } = lines.linePos(doc.contents.range[0]);
      report.error(
        { file, line, col },
        `YAML cannot be read: ${(err as Error).message}; expected plain mappings, lists and scalars`,
      );
      continue;
    }
    // An empty document (a trailing `---`, only comments) is not a manifest.
    if (value === null || value === undefined) continue;
    const manifest = new ManifestDoc(file, doc, lines, isRecord(value) ? value : {}, report);
    if (!isRecord(value))
      manifest.error(
        [],
        `document is ${describe(value)}; expected a mapping with apiVersion, kind and metadata`,
      );
    else out.push(manifest);
  }
  return out;
}

/** Every manifest document under `paths`, in file order then document order, and the files read. */
export function readDocuments(
  paths: readonly string[],
  report: Report,
): { docs: ManifestDoc[]; files: string[] } {
  const out: ManifestDoc[] = [];
  const files = listFiles(paths, report);
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      report.error(
        { file, line: 0, col: 0 },
        `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); expected a readable file`,
      );
      continue;
    }
    out.push(...parseFile(file, text, report));
  }
  return { docs: out, files };
}

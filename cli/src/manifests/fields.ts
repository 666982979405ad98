/** Typed reads of document fields that report, with positions, what is wrong and what was expected. */
import { describe, formatPath, isRecord, type FieldPath, type ManifestDoc } from './report.js';

/** The mapping at `path`; undefined (reported when `required`) when missing, null or not a mapping. */
export function mapAt(
  doc: ManifestDoc,
  path: FieldPath,
  required = false,
): Record<string, unknown> | undefined {
  const value = doc.get(path);
  if (isRecord(value)) return value;
  if (value === undefined || value === null) {
    if (required) doc.error(path, `${formatPath(path)} is missing; expected a mapping`);
    return undefined;
  }
  doc.error(path, `${formatPath(path)} is ${describe(value)}; expected a mapping`);
  return undefined;
}

/** The list at `path`; empty when missing or null, reported when not a list. */
export function listAt(doc: ManifestDoc, path: FieldPath, expected = 'a list'): unknown[] {
  const value = doc.get(path);
  if (Array.isArray(value)) return value;
  if (value !== undefined && value !== null) {
    doc.error(path, `${formatPath(path)} is ${describe(value)}; expected ${expected}`);
  }
  return [];
}

/** The string at `path`; undefined (reported when `required`) otherwise. */
export function stringAt(
  doc: ManifestDoc,
  path: FieldPath,
  required = false,
  expected = 'a string',
): string | undefined {
  const value = doc.get(path);
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) {
    if (required) doc.error(path, `${formatPath(path)} is missing; expected ${expected}`);
    return undefined;
  }
  doc.error(path, `${formatPath(path)} is ${describe(value)}; expected ${expected}`);
  return undefined;
}

/**
 * A map of strings at `path` (empty when missing); entries whose value is not a string are reported
 * (YAML reads `version: 1` as a number: it must be quoted) and left out.
 */
export function stringMapAt(doc: ManifestDoc, path: FieldPath): Record<string, string> {
  const map = mapAt(doc, path);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map ?? {})) {
    if (typeof value === 'string') out[key] = value;
    else
      doc.error(
        [...path, key],
        `${formatPath([...path, key])} is ${describe(value)}; expected a string (quote it: "${String(value)}")`,
      );
  }
  return out;
}

/** Reports keys of the mapping at `path` that are not in `allowed` (typos would otherwise be ignored). */
export function checkKeys(doc: ManifestDoc, path: FieldPath, allowed: readonly string[]): void {
  const map = doc.get(path);
  if (!isRecord(map)) return;
  for (const key of Object.keys(map)) {
    if (allowed.includes(key)) continue;
    const where = path.length ? `in ${formatPath(path)}` : 'at the top level';
    doc.error(
      [...path, key],
      `unknown field "${key}" ${where}; expected one of: ${allowed.join(', ')}`,
      'key',
    );
  }
}

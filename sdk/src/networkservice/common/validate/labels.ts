/** Kubernetes-style label rules, applied to connection labels before they reach selectors and templates. */
import { invalidArgument } from '../../../core/errors.js';
import {
  MAX_LABEL_KEY_LENGTH,
  MAX_LABEL_LENGTH,
  labelKeyProblem,
  labelNamePattern,
} from '../../../tools/labels.js';

/** Bounds on label maps; defaults are the Kubernetes ones. */
export interface LabelLimits {
  /** Entries per map (default 64). */
  maxLabels?: number;
  /** Value (default 63; may be empty). */
  maxValueLength?: number;
}

/** Shortens a value for an error message so a hostile label cannot flood the logs. */
export function quote(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

function checkKey(field: string, key: string): void {
  if (labelKeyProblem(key) === undefined) return;
  throw invalidArgument(
    `${field} has an invalid key ${quote(key)} (${key.length} characters): expected [prefix/]name: a name of ` +
      `1..${MAX_LABEL_LENGTH} characters of [A-Za-z0-9._-] beginning and ending alphanumeric, an optional ` +
      `DNS-subdomain prefix, ${MAX_LABEL_KEY_LENGTH} characters in all`,
  );
}

function checkValue(field: string, key: string, value: unknown, limits: Required<LabelLimits>): void {
  if (typeof value !== 'string') {
    throw invalidArgument(`${field}[${quote(key)}] is a ${typeof value}: expected a string`);
  }
  if (value.length > limits.maxValueLength || (value !== '' && !labelNamePattern.test(value))) {
    throw invalidArgument(
      `${field}[${quote(key)}] has an invalid value ${quote(value)} (${value.length} characters): expected ` +
        `at most ${limits.maxValueLength} characters of [A-Za-z0-9._-] beginning and ending alphanumeric, or empty`,
    );
  }
}

/**
 * Throws INVALID_ARGUMENT naming `field` unless `labels` is a map of valid label keys to valid values.
 * Usage: `validateLabels('connection.labels', conn.labels)`.
 */
export function validateLabels(field: string, labels: unknown, limits: LabelLimits = {}): void {
  const all: Required<LabelLimits> = {
    maxLabels: limits.maxLabels ?? 64,
    maxValueLength: limits.maxValueLength ?? 63,
  };
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw invalidArgument(
      `${field} is ${Array.isArray(labels) ? 'an array' : String(labels)}: expected a map of strings`,
    );
  }
  const entries = Object.entries(labels);
  if (entries.length > all.maxLabels) {
    throw invalidArgument(`${field} has ${entries.length} entries: at most ${all.maxLabels} are allowed`);
  }
  for (const [key, value] of entries) {
    checkKey(field, key);
    checkValue(field, key, value, all);
  }
}

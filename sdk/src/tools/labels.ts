/**
 * Labels: the Kubernetes rules for keys and values, applied where users write YAML (manifests); label
 * lists as users write them in the environment: `k:v,k2:v2` (as upstream NSM_LABELS). On the wire the
 * mesh accepts any map of strings, as upstream NSM does: requests and registrations are not held to
 * these rules.
 */
import { invalidArgument } from '../core/errors.js';

/** The most labels one map may hold. */
export const MAX_LABELS = 64;
/** The longest label name part and label value. */
export const MAX_LABEL_LENGTH = 63;
/** The longest whole key, `prefix/name`. */
export const MAX_LABEL_KEY_LENGTH = 253;

/** A label name, or a non-empty value: alphanumeric at both ends, `-`, `_` and `.` inside. */
export const labelNamePattern = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid Kubernetes label key, or undefined when it is. Usage: `labelKeyProblem('app')`. */
export function labelKeyProblem(key: string): string | undefined {
  if (key === '') return 'label key is empty';
  if (key.length > MAX_LABEL_KEY_LENGTH)
    return `label key is ${key.length} characters long: at most ${MAX_LABEL_KEY_LENGTH} in all`;
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || !dnsSubdomain.test(prefix))) {
    return `label key "${key}" has a bad prefix: expected a DNS subdomain before "/"`;
  }
  if (name.length === 0 || name.length > MAX_LABEL_LENGTH || !labelNamePattern.test(name)) {
    return `label key "${key}" is invalid: the name part must be 1-${MAX_LABEL_LENGTH} characters [A-Za-z0-9-_.], starting and ending alphanumeric`;
  }
  return undefined;
}

/** Shortens a text for an error message so a hostile label cannot flood the logs. */
export function quote(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/**
 * Throws INVALID_ARGUMENT naming `field` unless every key and value of `labels` is a valid Kubernetes
 * label (at most 64 entries). For what users write in YAML. Usage: `validateKubernetesLabels('labels', m)`.
 */
export function validateKubernetesLabels(field: string, labels: Readonly<Record<string, string>>): void {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS)
    throw invalidArgument(`${field} has ${entries.length} entries: at most ${MAX_LABELS} are allowed`);
  for (const [key, value] of entries) {
    if (labelKeyProblem(key) !== undefined) {
      throw invalidArgument(
        `${field} has an invalid key ${quote(key)} (${key.length} characters): expected [prefix/]name: a name of ` +
          `1..${MAX_LABEL_LENGTH} characters of [A-Za-z0-9._-] beginning and ending alphanumeric, an optional ` +
          `DNS-subdomain prefix, ${MAX_LABEL_KEY_LENGTH} characters in all`,
      );
    }
    if (value.length > MAX_LABEL_LENGTH || (value !== '' && !labelNamePattern.test(value))) {
      throw invalidArgument(
        `${field}[${quote(key)}] has an invalid value ${quote(value)} (${value.length} characters): expected ` +
          `at most ${MAX_LABEL_LENGTH} characters of [A-Za-z0-9._-] beginning and ending alphanumeric, or empty`,
      );
    }
  }
}

/**
 * Parses `k:v,k2:v2`. Problems are pushed to `errors` naming `variable` and the bad entry.
 * Usage: `parseLabels(process.env.NSM_LABELS ?? '', 'NSM_LABELS', errors)`.
 */
export function parseLabels(text: string, variable: string, errors: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const at = entry.indexOf(':');
    const key = at > 0 ? entry.slice(0, at).trim() : '';
    if (!key) {
      errors.push(`${variable}: bad label "${entry}": expected key:value`);
      continue;
    }
    if (key in labels) errors.push(`${variable}: label "${key}" is given twice`);
    labels[key] = entry.slice(at + 1).trim();
  }
  return labels;
}

/** Formats labels as `{k=v, k2=v2}` for messages, keys sorted. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  return `{${keys.map((k) => `${k}=${labels[k]}`).join(', ')}}`;
}

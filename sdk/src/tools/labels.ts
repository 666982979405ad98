/**
 * Labels: the Kubernetes rules for keys and values (one definition for requests, registrations and
 * manifests), and label lists as users write them in the environment: `k:v,k2:v2` (as upstream
 * NSM_LABELS).
 */

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

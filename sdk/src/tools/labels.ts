/** Label lists as users write them in the environment: `k:v,k2:v2` (as upstream NSM_LABELS). */

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

/** Label selectors whose values may be templates over the connection labels. */
import { compileTemplate } from './template.js';

/**
 * Whether `labels` contains every entry of `selector`, each selector value first evaluated as a
 * template over `vars` (the connection labels). An entry whose template names a label missing from
 * `vars` never matches; a key missing from `labels` never matches, even for an empty value. An empty
 * selector matches everything. Throws INVALID_ARGUMENT for a malformed template.
 * Usage: `matchesSelector(nse.network_service_labels[svc]?.labels ?? {}, route.destination_selector, conn.labels)`.
 */
export function matchesSelector(
  labels: Readonly<Record<string, string>>,
  selector: Readonly<Record<string, string>>,
  vars: Readonly<Record<string, string>>,
): boolean {
  // Compiled first, all of them, so that a malformed template fails whatever the labels are.
  const entries = Object.entries(selector).map(([key, value]) => ({
    key,
    value,
    template: compileTemplate(value),
  }));
  return entries.every(
    ({ key, value, template }) =>
      Object.hasOwn(labels, key) &&
      // A literal equal value matches without evaluation, as upstream does.
      (labels[key] === value || labels[key] === template.evaluate(vars)),
  );
}

/**
 * Formats a selector for messages: `k=v, k2=v2` with keys sorted, `*` when empty (matches anything).
 * Usage: `formatSelector(match.source_selector)`.
 */
export function formatSelector(selector: Readonly<Record<string, string>>): string {
  const keys = Object.keys(selector).sort();
  return keys.length === 0 ? '*' : keys.map((k) => `${k}=${selector[k]}`).join(', ');
}

/**
 * Query matching for registry Find, as upstream NSM's memory registry does it: a query record matches
 * a stored record when every non-empty field of the query matches; an empty query matches everything.
 */
import type { NetworkService, NetworkServiceEndpoint } from '../../api/types.js';

/**
 * Whether `nse` satisfies `query`: `name` and `url` equal, every queried service listed, every
 * queried label present with the same value in the stored labels of that service.
 * Usage: `matchNse({ ...newEndpoint(), network_service_names: ['db'] }, nse)`.
 */
export function matchNse(
  query: NetworkServiceEndpoint | null | undefined,
  nse: NetworkServiceEndpoint,
): boolean {
  if (!query) return true;
  if (query.name && query.name !== nse.name) return false;
  if (query.url && query.url !== nse.url) return false;
  for (const service of query.network_service_names) {
    if (!nse.network_service_names.includes(service)) return false;
  }
  for (const [service, wanted] of Object.entries(query.network_service_labels)) {
    if (!containsLabels(nse.network_service_labels[service]?.labels, wanted.labels)) return false;
  }
  return true;
}

/** Whether `ns` satisfies `query`: `name` and `payload` equal when set. Usage: `matchNs(query, ns)`. */
export function matchNs(query: NetworkService | null | undefined, ns: NetworkService): boolean {
  if (!query) return true;
  if (query.name && query.name !== ns.name) return false;
  if (query.payload && query.payload !== ns.payload) return false;
  return true;
}

/** Whether every k/v of `wanted` is in `labels` (an empty `wanted` is always contained). */
export function containsLabels(
  labels: Readonly<Record<string, string>> | undefined,
  wanted: Readonly<Record<string, string>>,
): boolean {
  for (const key in wanted) {
    if (!Object.hasOwn(wanted, key)) continue;
    if (labels === undefined || !Object.hasOwn(labels, key) || labels[key] !== wanted[key]) return false;
  }
  return true;
}

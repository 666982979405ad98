/**
 * Query matching for registry Find, as upstream NSM's memory registry does it: a query record matches
 * a stored record when every non-empty field of the query matches; an empty query matches everything.
 */
import { isDeepStrictEqual } from 'node:util';
import type { NetworkService, NetworkServiceEndpoint, Timestamp } from '../../api/types.js';

/**
 * Whether `nse` satisfies `query`, exactly as upstream NSM's matchutils: `name` equal; `url` contained in
 * the stored URL (a substring, so `tcp://10.0.0.1` finds every NSE behind that manager);
 * `expiration_time` equal to the second; every queried service listed; every queried service present in
 * the stored labels (even with no labels asked of it) with each queried label equal.
 * Usage: `matchNse({ ...newEndpoint(), network_service_names: ['db'] }, nse)`.
 */
export function matchNse(
  query: NetworkServiceEndpoint | null | undefined,
  nse: NetworkServiceEndpoint,
): boolean {
  if (!query) return true;
  if (query.name && query.name !== nse.name) return false;
  if (query.url && !nse.url.includes(query.url)) return false;
  if (query.expiration_time && secondsOf(query.expiration_time) !== secondsOf(nse.expiration_time))
    return false;
  for (const service of query.network_service_names) {
    if (!nse.network_service_names.includes(service)) return false;
  }
  for (const [service, wanted] of Object.entries(query.network_service_labels)) {
    const stored = Object.hasOwn(nse.network_service_labels, service)
      ? nse.network_service_labels[service]
      : undefined;
    if (!stored || !containsLabels(stored.labels, wanted.labels)) return false;
  }
  return true;
}

/**
 * Whether `ns` satisfies `query`, as upstream: `name` and `payload` equal when set, and `matches` (when
 * the query has any) equal to the stored ones, field by field. Usage: `matchNs(query, ns)`.
 */
export function matchNs(query: NetworkService | null | undefined, ns: NetworkService): boolean {
  if (!query) return true;
  if (query.name && query.name !== ns.name) return false;
  if (query.payload && query.payload !== ns.payload) return false;
  if (query.matches.length > 0 && !isDeepStrictEqual(query.matches, ns.matches)) return false;
  return true;
}

/** Whole seconds of a timestamp (0 when absent, as Go reads a nil one). */
function secondsOf(ts: Timestamp | null | undefined): string {
  return String(ts?.seconds ?? 0);
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

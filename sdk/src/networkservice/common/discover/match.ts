/**
 * Endpoint matching (docs/semantics.md, "Endpoint selection"): the first match whose source selector fits the
 * connection labels picks, through its routes' destination selectors, the endpoints that may serve
 * the connection; `fallthrough` moves on when it picks none.
 */
import type { Match, NetworkService, NetworkServiceEndpoint } from '../../../api/types.js';
import { formatLabels } from '../../../tools/labels.js';
import { formatSelector, matchesSelector } from '../../../tools/template/selector.js';
import type { Candidate } from './candidates.js';

/** One match as inspected, in order. */
export interface TriedMatch {
  match: Match;
  /** Whether its source selector fitted the connection labels. */
  sourceMatched: boolean;
}

/** The outcome of `matchEndpoints`. */
export interface MatchResult {
  /** Endpoints that may serve the connection, each once, in route then registry order. */
  candidates: Candidate[];
  /** The match that decided; absent when the service has no matches or none fitted. */
  match?: Match;
  /** Every match inspected, for error messages. */
  tried: TriedMatch[];
}

/** The labels `nse` carries for service `service`. */
export function endpointLabels(nse: NetworkServiceEndpoint, service: string): Record<string, string> {
  return nse.network_service_labels[service]?.labels ?? {};
}

/**
 * Endpoints selected by the routes of `match`. A route's weight of 0 (unset on the wire) counts as 1;
 * an endpoint selected by several routes appears once, with the highest of their weights.
 */
function byRoutes(
  service: string,
  match: Match,
  nses: readonly NetworkServiceEndpoint[],
  labels: Readonly<Record<string, string>>,
): Candidate[] {
  const found = new Map<string, Candidate>();
  for (const route of match.routes) {
    const weight = route.weight > 0 ? route.weight : 1;
    for (const nse of nses) {
      if (!matchesSelector(endpointLabels(nse, service), route.destination_selector, labels)) continue;
      const seen = found.get(nse.name);
      if (seen) seen.weight = Math.max(seen.weight, weight);
      else found.set(nse.name, { nse, weight });
    }
  }
  return [...found.values()];
}

/**
 * Runs the matches of `ns` over `nses` (already unexpired endpoints of `ns`) for a connection with
 * `labels`. Without matches every endpoint is a candidate (weight 1). Selector values are templates
 * over `labels`; a malformed one throws INVALID_ARGUMENT.
 * Usage: `const { candidates } = matchEndpoints(ns, nses, conn.labels)`.
 */
export function matchEndpoints(
  ns: NetworkService,
  nses: readonly NetworkServiceEndpoint[],
  labels: Readonly<Record<string, string>>,
): MatchResult {
  if (ns.matches.length === 0) return { candidates: nses.map((nse) => ({ nse, weight: 1 })), tried: [] };
  const tried: TriedMatch[] = [];
  for (const match of ns.matches) {
    const sourceMatched = matchesSelector(labels, match.source_selector, labels);
    tried.push({ match, sourceMatched });
    if (!sourceMatched) continue;
    const candidates = byRoutes(ns.name, match, nses, labels);
    if (candidates.length === 0 && match.fallthrough) continue;
    return { candidates, match, tried };
  }
  return { candidates: [], tried };
}

function describeMatch({ match, sourceMatched }: TriedMatch): string {
  const routes = match.routes.map((r) => formatSelector(r.destination_selector)).join(' | ') || '(no routes)';
  return `${formatSelector(match.source_selector)} → ${routes}${sourceMatched ? ' (source matched, no endpoint)' : ''}`;
}

function describeEndpoints(
  service: string,
  nses: readonly NetworkServiceEndpoint[],
  expired: number,
): string {
  const shown = 5;
  const list = nses.slice(0, shown).map((e) => `${e.name} ${formatLabels(endpointLabels(e, service))}`);
  if (nses.length > shown) list.push(`and ${nses.length - shown} more`);
  const out = list.length ? `endpoints: ${list.join(', ')}` : 'no endpoint is registered';
  return expired ? `${out} (${expired} expired registration(s) ignored)` : out;
}

/**
 * A one-line explanation of why `result` has no candidates: the service, the connection labels, the
 * selectors tried and the endpoints there were. Usage: `throw new NsmError(Code.NOT_FOUND, noEndpointMessage(...))`.
 */
export function noEndpointMessage(
  ns: NetworkService,
  nses: readonly NetworkServiceEndpoint[],
  labels: Readonly<Record<string, string>>,
  result: MatchResult,
  expired = 0,
): string {
  const parts: string[] = [];
  if (result.tried.length > 0) {
    parts.push(`tried matches [${result.tried.map(describeMatch).join('; ')}]`);
    if (!result.tried.some((t) => t.sourceMatched)) parts.push('no source selector matches the labels');
  }
  parts.push(describeEndpoints(ns.name, nses, expired));
  return `no endpoint of network service "${ns.name}" matches labels ${formatLabels(labels)}: ${parts.join('; ')}`;
}

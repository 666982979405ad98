/**
 * Forwarder matching: the first match of the requested service whose source selector fits the
 * connection labels says, in `metadata.labels`, which forwarder labels the connection needs.
 */
import type { NetworkService, NetworkServiceEndpoint } from '../../../api/types.js';
import { formatLabels } from '../../../tools/labels.js';
import { matchesSelector } from '../../../tools/template/selector.js';

/** Forwarder labels required when no match says otherwise. */
export const defaultForwarderLabels: Readonly<Record<string, string>> = Object.freeze({ p2p: 'true' });

/** The outcome of `matchForwarders`. */
export interface ForwarderMatch {
  /** Fitting forwarders, in registry order. */
  forwarders: NetworkServiceEndpoint[];
  /** The label sets tried, in order (for error messages). */
  tried: Record<string, string>[];
}

/** The labels `nse` registered for `service`. */
export function forwarderLabels(nse: NetworkServiceEndpoint, service: string): Record<string, string> {
  return nse.network_service_labels[service]?.labels ?? {};
}

/**
 * Forwarders of `forwarders` (registered under `service`) that fit a connection with `labels` to `ns`.
 * The first match whose source selector fits decides, `fallthrough` moving on when it finds none; its
 * `metadata.labels` (default `{p2p: "true"}` when empty) must be among the forwarder's labels, values
 * being templates over `labels`. When no match fits (or `ns` has none) the default labels apply, so the
 * forwarder can report the endpoint mismatch in detail. Upstream takes any forwarder for a service
 * without matches; we still require the default labels.
 * Usage: `const { forwarders } = matchForwarders(ns, local, conn.labels, 'forwarder')`.
 */
export function matchForwarders(
  ns: NetworkService | undefined,
  forwarders: readonly NetworkServiceEndpoint[],
  labels: Readonly<Record<string, string>>,
  service: string,
): ForwarderMatch {
  const tried: Record<string, string>[] = [];
  const fitting = (required: Record<string, string>): NetworkServiceEndpoint[] => {
    tried.push(required);
    return forwarders.filter((f) => matchesSelector(forwarderLabels(f, service), required, labels));
  };
  for (const match of ns?.matches ?? []) {
    if (!matchesSelector(labels, match.source_selector, labels)) continue;
    const own = match.metadata?.labels ?? {};
    const found = fitting(Object.keys(own).length > 0 ? own : { ...defaultForwarderLabels });
    if (found.length === 0 && match.fallthrough) continue;
    return { forwarders: found, tried };
  }
  if (tried.length > 0) return { forwarders: [], tried };
  return { forwarders: fitting({ ...defaultForwarderLabels }), tried };
}

/**
 * The one-line error text for no fitting forwarder. Usage: `noForwarderMessage(result, local, 'node-1', 'svc', 'forwarder')`.
 */
export function noForwarderMessage(
  result: ForwarderMatch,
  local: readonly NetworkServiceEndpoint[],
  nodeName: string,
  networkService: string,
  service: string,
): string {
  const wanted = result.tried.map(formatLabels).join(' or ');
  const have = local.length
    ? `local forwarders: ${local.map((f) => `${f.name} ${formatLabels(forwarderLabels(f, service))}`).join(', ')}`
    : `no forwarder is registered on this node`;
  return `no forwarder with labels ${wanted} on node "${nodeName}" for network service "${networkService}"; ${have}`;
}

/**
 * nodelabels (manager): NSEs registered through a manager get labels naming the node (and cluster)
 * for each of their services, so that NetworkService selectors like
 * `destination_selector: { nodeName: "{{.nodeName}}" }` can mean "an endpoint on my node".
 */
import type { NetworkServiceEndpoint } from '../../api/types.js';
import { registryElement, type NseElement } from '../../core/registry-chain.js';

/** Options for `nodeLabels`: label values to add when absent. */
export interface NodeLabelsOptions {
  nodeName: string;
  clusterName?: string;
}

/** `nse` with `labels` added to every service's labels where the key is absent (a new record). */
export function withServiceLabels(
  nse: NetworkServiceEndpoint,
  labels: Readonly<Record<string, string>>,
): NetworkServiceEndpoint {
  const services = new Set([...nse.network_service_names, ...Object.keys(nse.network_service_labels)]);
  const out: NetworkServiceEndpoint['network_service_labels'] = {};
  for (const service of services)
    out[service] = { labels: { ...labels, ...nse.network_service_labels[service]?.labels } };
  return { ...nse, network_service_labels: out };
}

/**
 * Adds `nodeName` (and `clusterName`) to the labels of every service of a registering NSE, creating
 * label maps for listed services without one; labels the NSE set itself win.
 * Usage: `nodeLabels({ nodeName: process.env.NODE_NAME })`.
 */
export function nodeLabels(options: NodeLabelsOptions): NseElement {
  const labels: Record<string, string> = {};
  if (options.nodeName) labels['nodeName'] = options.nodeName;
  if (options.clusterName) labels['clusterName'] = options.clusterName;
  return registryElement({
    register: (ctx, nse, next) =>
      next.register(ctx, Object.keys(labels).length ? withServiceLabels(nse, labels) : nse),
  });
}

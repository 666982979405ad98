/**
 * Registry test doubles for selection tests: in-memory lists behind the registry handler interface,
 * filtered as a registry would (name substring, listed services). The lists are read on every Find,
 * so a test can change them between requests.
 */
import { from } from 'rxjs';
import { newEndpoint } from '../../../api/builders.js';
import type { Match, NetworkService, NetworkServiceEndpoint } from '../../../api/types.js';
import {
  registryElement,
  toRegistryHandler,
  type NetworkServiceEndpointQuery,
  type NetworkServiceEndpointResponse,
  type NetworkServiceQuery,
  type NetworkServiceResponse,
  type NsHandler,
  type NseHandler,
} from '../../../core/registry-chain.js';

/** An NSE registry double over `records`. Usage: `const nse = fakeNseRegistry(endpoints)`. */
export function fakeNseRegistry(records: NetworkServiceEndpoint[]): NseHandler {
  return toRegistryHandler([
    registryElement<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse>({
      find: (_ctx, query) => {
        const q = query.network_service_endpoint ?? newEndpoint();
        const hits = records.filter(
          (r) =>
            r.name.includes(q.name) &&
            q.network_service_names.every((s) => r.network_service_names.includes(s)),
        );
        return from(hits.map((r) => ({ network_service_endpoint: r, deleted: false })));
      },
    }),
  ]);
}

/** An NS registry double over `records`. Usage: `const ns = fakeNsRegistry([networkService('svc')])`. */
export function fakeNsRegistry(records: NetworkService[]): NsHandler {
  return toRegistryHandler([
    registryElement<NetworkService, NetworkServiceQuery, NetworkServiceResponse>({
      find: (_ctx, query) => {
        const name = query.network_service?.name ?? '';
        return from(
          records.filter((r) => r.name.includes(name)).map((r) => ({ network_service: r, deleted: false })),
        );
      },
    }),
  ]);
}

/** A NetworkService record. Usage: `networkService('svc', [match({ app: 'a' }, [{ app: 'b' }])])`. */
export function networkService(name: string, matches: Match[] = [], payload = 'IP'): NetworkService {
  return { name, payload, matches, path_ids: [] };
}

/** A Match record; routes are destination selectors, optionally with weights. */
export function match(
  source: Record<string, string>,
  routes: (Record<string, string> | { selector: Record<string, string>; weight: number })[],
  extra: { fallthrough?: boolean; metadata?: Record<string, string> } = {},
): Match {
  return {
    source_selector: source,
    routes: routes.map((r) =>
      'selector' in r && typeof r.selector === 'object'
        ? { destination_selector: r.selector, weight: r.weight as number }
        : { destination_selector: r as Record<string, string>, weight: 0 },
    ),
    fallthrough: extra.fallthrough ?? false,
    metadata: extra.metadata ? { labels: extra.metadata } : null,
  };
}

/** An endpoint registered for `services`, each with `labels`. Usage: `endpoint('nse-1', ['svc'], { app: 'b' })`. */
export function endpoint(
  name: string,
  services: string[],
  labels: Record<string, string> = {},
  init: Partial<NetworkServiceEndpoint> = {},
): NetworkServiceEndpoint {
  return newEndpoint({
    name,
    network_service_names: services,
    network_service_labels: Object.fromEntries(services.map((s) => [s, { labels: { ...labels } }])),
    url: `unix:///run/nsm/${name}.sock`,
    ...init,
  });
}

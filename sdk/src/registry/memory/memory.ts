/**
 * memory: the in-memory registry store. Register upserts by name, Find returns the matches (and with
 * `watch` keeps streaming changes), Unregister deletes and tells the watchers with `deleted: true`.
 * NSEs are indexed by network service name so that a find by service stays fast at 10 000 records.
 */
import { concat, defer, from, map } from 'rxjs';
import type { NetworkService, NetworkServiceEndpoint } from '../../api/types.js';
import { invalidArgument } from '../../core/errors.js';
import type {
  NetworkServiceEndpointQuery,
  NseElement,
  NsElement,
  NetworkServiceQuery,
} from '../../core/registry-chain.js';
import { generateNseName } from '../setname/setname.js';
import { matchNs, matchNse } from './match.js';
import { WatchableStore } from './store.js';

type NseQuery = NetworkServiceEndpoint | null;
type NsQuery = NetworkService | null;

/** A memory store element with its store exposed for diagnostics. */
export type MemoryElement<E, T, Q> = E & { readonly store: WatchableStore<T, Q> };

/**
 * The NSE store element; an empty name gets a generated unique one. It answers Find itself (a plain
 * find then continues down the chain, as upstream does). Usage: `toRegistryHandler([memoryNseStore()])`.
 */
export function memoryNseStore(): MemoryElement<NseElement, NetworkServiceEndpoint, NseQuery> {
  const byService = new Map<string, Set<string>>();
  const store = new WatchableStore<NetworkServiceEndpoint, NseQuery>({
    match: matchNse,
    copy: copyNse,
    candidates: (query) =>
      query?.name
        ? [query.name]
        : query?.network_service_names.length
          ? smallestIndex(byService, query.network_service_names)
          : undefined,
    onChange(name, before, after) {
      for (const service of before?.network_service_names ?? []) {
        const names = byService.get(service);
        names?.delete(name);
        if (names?.size === 0) byService.delete(service);
      }
      for (const service of after?.network_service_names ?? []) {
        let names = byService.get(service);
        if (!names) byService.set(service, (names = new Set()));
        names.add(name);
      }
    },
  });
  return {
    store,
    async register(ctx, nse, next) {
      const named = nse.name ? nse : { ...nse, name: generateNseName() };
      const result = await next.register(ctx, named);
      store.put(result.name, result);
      return copyNse(result);
    },
    find(ctx, query: NetworkServiceEndpointQuery, next) {
      const wrap = map(({ record, deleted }: { record: NetworkServiceEndpoint; deleted: boolean }) => ({
        network_service_endpoint: record,
        deleted,
      }));
      if (query.watch) return store.watch(query.network_service_endpoint).pipe(wrap);
      const current = defer(() =>
        from(store.find(query.network_service_endpoint).map((record) => ({ record, deleted: false }))),
      );
      return concat(current.pipe(wrap), next.find(ctx, query));
    },
    async unregister(ctx, nse, next) {
      store.delete(nse.name);
      await next.unregister(ctx, nse);
    },
  };
}

/** The NetworkService store element. Usage: `toRegistryHandler([memoryNsStore()])`. */
export function memoryNsStore(): MemoryElement<NsElement, NetworkService, NsQuery> {
  const store = new WatchableStore<NetworkService, NsQuery>({
    match: matchNs,
    copy: (ns) => structuredClone(ns),
    candidates: (query) => (query?.name ? [query.name] : undefined),
  });
  return {
    store,
    async register(ctx, ns, next) {
      if (!ns.name)
        throw invalidArgument('network service has an empty name; a name is required to register it');
      const result = await next.register(ctx, ns);
      store.put(result.name, result);
      return structuredClone(result);
    },
    find(ctx, query: NetworkServiceQuery, next) {
      const wrap = map(({ record, deleted }: { record: NetworkService; deleted: boolean }) => ({
        network_service: record,
        deleted,
      }));
      if (query.watch) return store.watch(query.network_service).pipe(wrap);
      const current = defer(() =>
        from(store.find(query.network_service).map((record) => ({ record, deleted: false }))),
      );
      return concat(current.pipe(wrap), next.find(ctx, query));
    },
    async unregister(ctx, ns, next) {
      store.delete(ns.name);
      await next.unregister(ctx, ns);
    },
  };
}

function smallestIndex(
  index: ReadonlyMap<string, ReadonlySet<string>>,
  services: readonly string[],
): Iterable<string> {
  let best: ReadonlySet<string> | undefined;
  for (const service of services) {
    const names = index.get(service);
    if (!names) return [];
    if (!best || names.size < best.size) best = names;
  }
  return best ?? [];
}

/** A fast deep copy of an NSE record (hot path of Find: structuredClone is several times slower). */
export function copyNse(nse: NetworkServiceEndpoint): NetworkServiceEndpoint {
  const labels: NetworkServiceEndpoint['network_service_labels'] = {};
  for (const [service, value] of Object.entries(nse.network_service_labels))
    labels[service] = { labels: { ...value.labels } };
  return {
    name: nse.name,
    network_service_names: [...nse.network_service_names],
    network_service_labels: labels,
    url: nse.url,
    expiration_time: nse.expiration_time ? { ...nse.expiration_time } : null,
    initial_registration_time: nse.initial_registration_time ? { ...nse.initial_registration_time } : null,
    path_ids: [...nse.path_ids],
  };
}

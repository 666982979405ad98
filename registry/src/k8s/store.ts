/**
 * The CRD store of the registry (`NSM_REGISTRY_BACKEND=k8s`): NetworkService and
 * NetworkServiceEndpoint records kept as custom resources in one namespace, in place of the memory
 * store. Writes go to the API (create or replace, delete with a resourceVersion precondition); Find
 * and watch answer from the informer-fed mirror, so replicas on one API server answer alike. Each
 * replica deletes NSE CRs whose expiration_time has passed, on the version it saw, so of several
 * replicas exactly one deletion succeeds and a CR refreshed meanwhile is kept. This module and its
 * siblings are the only ones that import @kubernetes/client-node.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { concat, defer, from, map } from 'rxjs';
import { fromTimestamp, type NetworkService, type NetworkServiceEndpoint } from '@nsm-ts/sdk/api';
import { invalidArgument, realClock, type Clock, type Logger } from '@nsm-ts/sdk/core';
import type {
  NetworkServiceEndpointQuery,
  NetworkServiceQuery,
  NseElement,
  NsElement,
} from '@nsm-ts/sdk/core';
import { copyNse, generateNseName, matchNs, matchNse } from '@nsm-ts/sdk/registry';
import { CrMirror } from './mirror.js';
import { NS_RESOURCE, NSE_RESOURCE } from './resources.js';
import { CrWriter } from './writes.js';

/** Options for `crdStores`. */
export interface CrdStoreOptions {
  kubeConfig: KubeConfig;
  /** The namespace of the CRs (`NSM_NAMESPACE`). */
  namespace: string;
  log: Logger;
  clock?: Clock;
  /** How often expired NSE CRs are looked for (default 1 s). */
  sweepMs?: number;
}

/** The two store elements, their start (first list) and their close. */
export interface CrdStores {
  nse: NseElement;
  ns: NsElement;
  /** Resolves once both resources are listed and watched. */
  start(): Promise<void>;
  /** Records this replica's mirrors hold and the watch streams open on them. */
  counts(): { nse: { records: number; watchers: number }; ns: { records: number; watchers: number } };
  close(): void;
}

type NseQuery = NetworkServiceEndpoint | null;
type NsQuery = NetworkService | null;

const expiry = (nse: NetworkServiceEndpoint): number => fromTimestamp(nse.expiration_time) ?? Infinity;

export function crdStores(options: CrdStoreOptions): CrdStores {
  const clock = options.clock ?? realClock;
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.after(ms, resolve));
  const common = { kubeConfig: options.kubeConfig, namespace: options.namespace, log: options.log, clock };
  const nses = new CrMirror<NetworkServiceEndpoint, NseQuery>({
    ...common,
    resource: NSE_RESOURCE,
    store: { match: matchNse, copy: copyNse },
  });
  const nss = new CrMirror<NetworkService, NsQuery>({
    ...common,
    resource: NS_RESOURCE,
    store: { match: matchNs, copy: (ns) => structuredClone(ns) },
  });
  const nseWriter = new CrWriter(options.kubeConfig, options.namespace, NSE_RESOURCE, sleep);
  const nsWriter = new CrWriter(options.kubeConfig, options.namespace, NS_RESOURCE, sleep);

  /** Writes `record` and waits until this replica's mirror has it (or something newer). */
  async function put<T extends { name: string }>(
    writer: CrWriter<T>,
    mirror: CrMirror<T, unknown>,
    record: T,
  ): Promise<T> {
    const stored = await writer.put(record);
    await mirror.caughtUp(record.name, stored.metadata?.resourceVersion ?? '');
    return record;
  }

  let sweeping: (() => void) | undefined;
  const sweep = async (): Promise<void> => {
    const now = clock.now();
    for (const nse of nses.store.find(null)) {
      const rv = nses.resourceVersion(nse.name);
      if (expiry(nse) > now || rv === undefined) continue;
      try {
        if (await nseWriter.delete(nse.name, rv))
          options.log.debug({ nse: nse.name }, 'expired registration deleted');
      } catch (err) {
        options.log.warn(
          { nse: nse.name, err: (err as Error).message },
          'deleting an expired registration failed',
        );
      }
    }
  };
  const scheduleSweep = (): void => {
    sweeping = clock.after(options.sweepMs ?? 1000, () => {
      void sweep().finally(() => sweeping && scheduleSweep());
    });
  };

  const nse: NseElement = {
    async register(ctx, record, next) {
      const named = record.name ? record : { ...record, name: generateNseName() };
      const result = await next.register(ctx, named);
      return copyNse(await put(nseWriter, nses, result));
    },
    find(ctx, query: NetworkServiceEndpointQuery, next) {
      const live = map(({ record, deleted }: { record: NetworkServiceEndpoint; deleted: boolean }) => ({
        network_service_endpoint: record,
        deleted,
      }));
      if (query.watch) return nses.store.watch(query.network_service_endpoint).pipe(live);
      const current = defer(() =>
        from(
          nses.store
            .find(query.network_service_endpoint)
            .filter((r) => expiry(r) > clock.now())
            .map((r) => ({ record: r, deleted: false })),
        ),
      );
      return concat(current.pipe(live), next.find(ctx, query));
    },
    async unregister(ctx, record, next) {
      // Delete what this caller registered, not a newer registration made through another replica.
      for (let attempt = 0; attempt < 5; attempt++) {
        const rv = nses.resourceVersion(record.name);
        const current = nses.store.get(record.name);
        if (rv === undefined || !current) break;
        const asked = fromTimestamp(record.expiration_time);
        if (asked !== undefined && expiry(current) > asked) break;
        if (await nseWriter.delete(record.name, rv)) break;
        await nses.caughtUp(record.name, '', 200);
      }
      await next.unregister(ctx, record);
    },
  };

  const ns: NsElement = {
    async register(ctx, record, next) {
      if (!record.name)
        throw invalidArgument('network service has an empty name; a name is required to register it');
      const result = await next.register(ctx, record);
      return structuredClone(await put(nsWriter, nss, result));
    },
    find(ctx, query: NetworkServiceQuery, next) {
      const live = map(({ record, deleted }: { record: NetworkService; deleted: boolean }) => ({
        network_service: record,
        deleted,
      }));
      if (query.watch) return nss.store.watch(query.network_service).pipe(live);
      const current = defer(() =>
        from(nss.store.find(query.network_service).map((r) => ({ record: r, deleted: false }))),
      );
      return concat(current.pipe(live), next.find(ctx, query));
    },
    async unregister(ctx, record, next) {
      // A 409 means this replica's copy was behind: wait for the newer version and delete that.
      for (let attempt = 0; attempt < 5; attempt++) {
        const rv = nss.resourceVersion(record.name);
        if (rv === undefined || (await nsWriter.delete(record.name, rv))) break;
        await nss.caughtUp(record.name, '', 200);
      }
      await next.unregister(ctx, record);
    },
  };

  return {
    nse,
    ns,
    async start() {
      await Promise.all([nses.start(), nss.start()]);
      scheduleSweep();
    },
    counts: () => ({
      nse: { records: nses.store.size, watchers: nses.store.watchers },
      ns: { records: nss.store.size, watchers: nss.store.watchers },
    }),
    close() {
      const stop = sweeping;
      sweeping = undefined;
      stop?.();
      nses.close();
      nss.close();
    },
  };
}

export {
  GROUP,
  NS_RESOURCE,
  NSE_RESOURCE,
  VERSION,
  type CustomResource,
  type Resource,
} from './resources.js';

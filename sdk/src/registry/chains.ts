/**
 * Registry products assembled from registry elements: the registry server (what the registry daemon
 * and the embedded registry serve) and the manager's registry proxy.
 */
import type { Clock } from '../core/clock.js';
import type { NetworkService, NetworkServiceEndpoint } from '../api/types.js';
import type {
  NetworkServiceEndpointQuery,
  NetworkServiceEndpointResponse,
  NetworkServiceQuery,
  NetworkServiceResponse,
  RegistryElement,
} from '../core/registry-chain.js';
import type { Security } from '../security/setup.js';
import type { RegistryCounts } from '../metrics/gauges.js';
import type { RegistryChainMetrics } from '../metrics/registry.js';
import { authorizeRegistry } from './authorize/authorize.js';
import { registryUpdatePath } from './path/update-path.js';
import {
  toRegistryHandler,
  type NsElement,
  type NseElement,
  type NsHandler,
  type NseHandler,
} from '../core/registry-chain.js';
import { ClientPool } from '../grpc/client.js';
import { cachedNsRegistry, cachedNseRegistry } from './cache/cache.js';
import { connectNs, connectNse } from './connect/connect.js';
import { expire } from './expire/expire.js';
import { localBypass } from './localbypass/localbypass.js';
import { memoryNsStore, memoryNseStore } from './memory/memory.js';
import { nodeLabels } from './nodelabels/nodelabels.js';
import { registrationTime } from './registration-time/registration-time.js';
import { setNseName } from './setname/setname.js';
import { setPayload } from './setpayload/setpayload.js';
import { validateNs, validateNse } from './validate/validate.js';

/** NSE and NS handlers of one registry, with a `close()` that releases timers and channels. */
export interface RegistryHandlers {
  nse: NseHandler;
  ns: NsHandler;
  /** Records and watchers of its stores now, when it holds them (the registry server). */
  counts?(): { nse: RegistryCounts; ns: RegistryCounts };
  close(): void;
}

/** Options for `createRegistryServer`. */
export interface RegistryServerOptions {
  /** Clock for expiry (default: each call's context clock). */
  clock?: Clock;
  /** Lifetime of an unrefreshed NSE registration (default 60 s). */
  defaultLifetimeMs?: number;
  /**
   * The serving process's security: this hop then takes its place on the registry path (its token,
   * path_ids) and, with authorization on, enforces the policies and name ownership. Leave it out for a
   * registry embedded in a manager (the manager's chain did that already).
   */
  security?: Security;
  /**
   * The stores in place of the in-memory ones (the registry daemon's CRD store, say): the last
   * elements of the NSE and NS chains. The caller closes them.
   */
  stores?: { nse: NseElement; ns: NsElement; counts?(): { nse: RegistryCounts; ns: RegistryCounts } };
  /** Counts calls and policy refusals (`registryChainMetrics(registry)`); none by default. */
  metrics?: RegistryChainMetrics;
}

/** The path and authorization elements of a registry hop, for records of kind `what`. */
function hopElements<T extends { name: string; path_ids: string[] }, Q, R>(
  what: string,
  security: Security | undefined,
): RegistryElement<T, Q, R>[] {
  if (!security) return [];
  const elements: RegistryElement<T, Q, R>[] = [registryUpdatePath<T, Q, R>(security.tokens)];
  if (security.authorization)
    elements.push(
      authorizeRegistry<T, Q, R>(what, {
        verifier: security.authorization.verifier,
        operator: (id) => security.operator(id),
      }),
    );
  return elements;
}

const nseHop = (what: string, security: Security | undefined) =>
  hopElements<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse>(
    what,
    security,
  );
const nsHop = (what: string, security: Security | undefined) =>
  hopElements<NetworkService, NetworkServiceQuery, NetworkServiceResponse>(what, security);

/** The counting element of a registry chain, when there are metrics. */
function counted<T, Q, R>(
  kind: 'nse' | 'ns',
  metrics: RegistryChainMetrics | undefined,
): RegistryElement<T, Q, R>[] {
  return metrics ? [metrics.element<T, Q, R>(kind)] : [];
}

/**
 * An in-memory registry: validation, NSE naming, expiry, initial registration time, the `IP` payload
 * default for services and the stores.
 * Usage: `const reg = createRegistryServer({ defaultLifetimeMs: 60_000 }); server.serveEndpointRegistry(reg.nse)`.
 */
export function createRegistryServer(options: RegistryServerOptions = {}): RegistryHandlers {
  const expiry = expire({
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.defaultLifetimeMs !== undefined ? { defaultLifetimeMs: options.defaultLifetimeMs } : {}),
  });
  const memory = options.stores ? undefined : { nse: memoryNseStore(), ns: memoryNsStore() };
  const nseStore = options.stores?.nse ?? memory!.nse;
  const nsStore = options.stores?.ns ?? memory!.ns;
  const counts = memory
    ? () => ({
        nse: { records: memory.nse.store.size, watchers: memory.nse.store.watchers },
        ns: { records: memory.ns.store.size, watchers: memory.ns.store.watchers },
      })
    : options.stores?.counts?.bind(options.stores);
  return {
    nse: toRegistryHandler([
      ...counted<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse>(
        'nse',
        options.metrics,
      ),
      validateNse(),
      ...nseHop('network service endpoint', options.security),
      setNseName(),
      expiry,
      registrationTime(),
      nseStore,
    ]),
    ns: toRegistryHandler([
      ...counted<NetworkService, NetworkServiceQuery, NetworkServiceResponse>('ns', options.metrics),
      validateNs(),
      ...nsHop('network service', options.security),
      setPayload(),
      nsStore,
    ]),
    ...(counts ? { counts } : {}),
    close() {
      expiry.close();
      memory?.nse.store.close();
      memory?.ns.store.close();
    },
  };
}

/** Options for `createManagerRegistry`. */
export interface ManagerRegistryOptions {
  /** The URL remote peers use to reach this manager; local NSEs are registered upstream under it. */
  managerUrl: string;
  /** Added as the `nodeName` label of every service of a local NSE. */
  nodeName: string;
  /** Added as the `clusterName` label when set. */
  clusterName?: string;
  /** The registry to forward to; empty or absent (and no `upstream`) means an embedded in-memory one. */
  registryUrl?: string;
  /** In-process upstream handlers (tests, lab); used when `registryUrl` is empty. */
  upstream?: { nse: NseHandler; ns: NsHandler };
  /** Channels for `registryUrl`; by default an own pool, closed by `close()`. */
  pool?: ClientPool;
  /** The manager's security: its place on the registry path and, when on, the policies and name ownership. */
  security?: Security;
  /** Clock and lifetime for the embedded registry. */
  clock?: Clock;
  defaultLifetimeMs?: number;
  /** Counts calls and policy refusals (`registryChainMetrics(registry)`); none by default. */
  metrics?: RegistryChainMetrics;
}

/**
 * The manager's registry: NSE registrations get node labels and local bypass, then go upstream (a
 * remote registry over gRPC, given handlers, or an embedded in-memory registry).
 * Usage: `createManagerRegistry({ managerUrl: 'tcp://10.0.0.1:5001', nodeName, registryUrl: env.NSM_REGISTRY_URL })`.
 */
export function createManagerRegistry(options: ManagerRegistryOptions): RegistryHandlers {
  let upstream: { nse: NseHandler; ns: NsHandler };
  let release: () => void;
  if (options.registryUrl) {
    const pool = options.pool ?? new ClientPool();
    const connect = { url: options.registryUrl, pool };
    // Forwarders look endpoints up on every request: answer from a watched copy, not the remote registry.
    const nse = cachedNseRegistry(connectNse(connect));
    const ns = cachedNsRegistry(connectNs(connect));
    upstream = { nse, ns };
    release = () => {
      nse.close();
      ns.close();
      if (!options.pool) pool.close();
    };
  } else if (options.upstream) {
    upstream = options.upstream;
    release = () => undefined;
  } else {
    const embedded = createRegistryServer({
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.defaultLifetimeMs !== undefined ? { defaultLifetimeMs: options.defaultLifetimeMs } : {}),
    });
    upstream = embedded;
    release = () => embedded.close();
  }
  const labels = {
    nodeName: options.nodeName,
    ...(options.clusterName ? { clusterName: options.clusterName } : {}),
  };
  return {
    nse: toRegistryHandler(
      [
        ...counted<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse>(
          'nse',
          options.metrics,
        ),
        validateNse(),
        ...nseHop('network service endpoint', options.security),
        nodeLabels(labels),
        localBypass({ managerUrl: options.managerUrl }),
      ],
      upstream.nse,
    ),
    ns: toRegistryHandler(
      [
        ...counted<NetworkService, NetworkServiceQuery, NetworkServiceResponse>('ns', options.metrics),
        validateNs(),
        ...nsHop('network service', options.security),
      ],
      upstream.ns,
    ),
    close: release,
  };
}

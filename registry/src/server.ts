/** Starts the registry: the in-memory registry chains served over gRPC with health. */
import { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '@nsm-ts/sdk/core';
import type { Logger } from '@nsm-ts/sdk/core';
import { createServer } from '@nsm-ts/sdk/grpc';
import { createRegistryServer, type RegistryHandlers } from '@nsm-ts/sdk/registry';
import { daemonSecurity, type Security } from '@nsm-ts/sdk/security';
import { daemonMetrics, registryChainMetrics, registryGauges } from '@nsm-ts/sdk/metrics';
import type { RegistryConfig } from './config.js';
import { crdStores, type CrdStores } from './k8s/store.js';

/** The CRD store, listed and watching: `deps.kubeConfig`, or the in-cluster account or KUBECONFIG. */
async function startCrdStores(
  config: RegistryConfig,
  deps: { log: Logger; clock?: Clock; kubeConfig?: KubeConfig },
): Promise<CrdStores> {
  let kubeConfig = deps.kubeConfig;
  if (!kubeConfig) {
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
  }
  const server = kubeConfig.getCurrentCluster()?.server;
  deps.log.info({ server, namespace: config.namespace }, 'registry store: Kubernetes custom resources');
  const stores = crdStores({
    kubeConfig,
    namespace: config.namespace,
    log: deps.log,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  await stores.start();
  return stores;
}

/** A running registry. */
export interface RunningRegistry {
  /** The bound URLs (ports filled in for `tcp://host:0`). */
  urls: string[];
  /** The handlers being served (for in-process inspection). */
  registry: RegistryHandlers;
  /** `http://host:port/metrics` when NSM_METRICS_ADDR is set. */
  metricsUrl?: string;
  /** Stops serving, ends watch streams, removes unix sockets and cancels expiry timers. */
  close(): Promise<void>;
}

/**
 * Serves the registry as `config` says. Usage (what main does):
 * `const running = await startRegistry(parseRegistryConfig(process.env), { log })`.
 */
export async function startRegistry(
  config: RegistryConfig,
  deps: { log: Logger; clock?: Clock; security?: Security; kubeConfig?: KubeConfig },
): Promise<RunningRegistry> {
  const metrics = await daemonMetrics(config.metricsAddr ?? '', deps.log);
  let security: Security;
  let release: () => void;
  let stores: CrdStores | undefined;
  try {
    ({ security, release } = await daemonSecurity(config, deps));
    stores = config.backend === 'k8s' ? await startCrdStores(config, deps) : undefined;
  } catch (err) {
    // An open metrics server would keep a registry that failed to start alive.
    await metrics?.close();
    throw err;
  }
  const registry = createRegistryServer({
    defaultLifetimeMs: config.expirePeriodMs,
    security,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(stores ? { stores } : {}),
    ...(metrics ? { metrics: registryChainMetrics(metrics.registry) } : {}),
  });
  const counts = registry.counts?.bind(registry);
  if (metrics && counts) registryGauges(metrics.registry, counts);
  const server = createServer({
    log: deps.log,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(security.identity ? { identity: security.identity } : {}),
  });
  server.serveEndpointRegistry(registry.nse);
  server.serveServiceRegistry(registry.ns);
  const close = async (): Promise<void> => {
    try {
      await server.close();
    } finally {
      registry.close();
      stores?.close();
      release();
      await metrics?.close();
    }
  };
  try {
    const urls = await server.listen(config.listenOn);
    return { urls, registry, close, ...(metrics ? { metricsUrl: metrics.url } : {}) };
  } catch (err) {
    await close();
    throw err;
  }
}

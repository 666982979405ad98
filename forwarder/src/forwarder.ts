/**
 * Starts a forwarder: registers it with the local manager as an endpoint of the `forwarder` service,
 * serves its chain, and builds wires through the mechanism elements it is given.
 */
import { newEndpoint } from '@nsm-ts/sdk/api';
import type { NetworkServiceEndpoint } from '@nsm-ts/sdk/api';
import { createForwarderChain } from '@nsm-ts/sdk/chains';
import type { NetworkServiceElement } from '@nsm-ts/sdk/core';
import type { Clock } from '@nsm-ts/sdk/core';
import { createContext } from '@nsm-ts/sdk/core';
import type { Logger } from '@nsm-ts/sdk/core';
import { ClientPool } from '@nsm-ts/sdk/grpc';
import { closeHubs } from '@nsm-ts/sdk/elements';
import { createServer } from '@nsm-ts/sdk/grpc';
import { cachedNsRegistry, cachedNseRegistry } from '@nsm-ts/sdk/registry';
import { createRegistryClient } from '@nsm-ts/sdk/registry';
import { scopedMonitor } from '@nsm-ts/sdk/elements';
import { daemonSecurity, type Security } from '@nsm-ts/sdk/security';
import type { MonitorScopeSelector } from '@nsm-ts/sdk/api';
import { chainMetrics, connectionsGauge, daemonMetrics, type Registry } from '@nsm-ts/sdk/metrics';
import { chainTracing, startTracing } from '@nsm-ts/sdk/tracing';
import type { ForwarderConfig } from './config.js';
import { forwarderOffer } from './offer.js';

/** A running forwarder. */
export interface RunningForwarder {
  urls: string[];
  /** Its registration as the manager stored it. */
  registration: NetworkServiceEndpoint;
  connections(): number;
  /** `http://host:port/metrics` when NSM_METRICS_ADDR is set. */
  metricsUrl?: string;
  close(): Promise<void>;
}

/** What the forwarder builds with: mechanism elements by type, and their shutdown. */
export interface ForwarderDataplane {
  mechanisms: Record<string, NetworkServiceElement>;
  /** Local mechanism types it builds toward endpoints, in order of preference. */
  localTypes: string[];
  /** Registers the data plane's own metrics (the kernel's: interface counters per connection). */
  metrics?(registry: Registry): void;
  close(): Promise<void> | void;
}

/** Usage: `await startForwarder(readForwarderConfig(), { log, dataplane })`. */
export async function startForwarder(
  config: ForwarderConfig,
  deps: { log: Logger; clock?: Clock; dataplane: ForwarderDataplane; security?: Security },
): Promise<RunningForwarder> {
  const metrics = await daemonMetrics(config.metricsAddr ?? '', deps.log);
  const { security, release } = await daemonSecurity(config, deps).catch(async (err: unknown) => {
    await metrics?.close();
    throw err;
  });
  const identity = security.identity ? { identity: security.identity } : {};
  const pool = new ClientPool({ dialTimeoutMs: config.dialTimeoutMs, tokens: security.tokens, ...identity });
  const manager = pool.get(config.connectTo);
  // Endpoint selection runs on every request: keep a watched copy of the registry as the manager sees it.
  const nse = cachedNseRegistry(manager.endpointRegistry, { log: deps.log });
  const ns = cachedNsRegistry(manager.serviceRegistry, { log: deps.log });
  const tracing = config.tracing && startTracing(config.tracing, { service: config.name, log: deps.log });
  const { handler, monitor } = createForwarderChain({
    name: config.name,
    nse,
    ns,
    pool,
    tokens: security.tokens,
    ...(security.authorization ? { authorization: security.authorization } : {}),
    mechanisms: deps.dataplane.mechanisms,
    nodeName: config.nodeName,
    discoverWaitMs: config.discoverWaitMs,
    offer: forwarderOffer({
      tunnelIp: config.tunnelIp,
      vxlanPort: config.vxlanPort,
      localTypes: deps.dataplane.localTypes,
    }),
    ...(metrics ? { metrics: chainMetrics(metrics.registry) } : {}),
    ...(tracing ? { tracing: chainTracing(tracing.tracer, config.name) } : {}),
  });
  if (metrics) {
    connectionsGauge(metrics.registry, () => monitor.list());
    deps.dataplane.metrics?.(metrics.registry);
  }
  const server = createServer({ log: deps.log, ...(deps.clock ? { clock: deps.clock } : {}), ...identity });
  server.serveNetworkService(handler);
  const stream = (_ctx: unknown, selector: MonitorScopeSelector) => monitor.stream(selector);
  server.serveMonitor(
    security.authorization ? scopedMonitor(stream, { operator: (id) => security.operator(id) }) : stream,
  );
  const urls = await server.listen(config.listenOn).catch(async (err: unknown) => {
    // An open metrics server would keep a forwarder that failed to start alive.
    await metrics?.close();
    await tracing?.shutdown();
    throw err;
  });
  const ctx = createContext({ log: deps.log, ...(deps.clock ? { clock: deps.clock } : {}) });
  const registry = createRegistryClient({ url: config.connectTo, pool, name: config.name });
  let registration: NetworkServiceEndpoint;
  try {
    registration = await registry.register(
      ctx,
      newEndpoint({
        name: config.name,
        network_service_names: [config.serviceName],
        network_service_labels: { [config.serviceName]: { labels: { ...config.labels } } },
        url: urls[0] ?? '',
      }),
    );
  } catch (err) {
    await server.close();
    nse.close();
    ns.close();
    pool.close();
    release();
    await metrics?.close();
    await tracing?.shutdown();
    throw err;
  }
  deps.log.info(
    {
      node: config.nodeName,
      urls,
      manager: config.connectTo,
      metrics: metrics?.url ?? 'off',
      traces: tracing?.describe ?? 'off',
    },
    'forwarder serving',
  );
  return {
    urls,
    registration,
    connections: () => monitor.list().length,
    ...(metrics ? { metricsUrl: metrics.url } : {}),
    async close() {
      monitor.complete();
      await registry.close(ctx).catch((err: unknown) => deps.log.warn({ err }, 'unregistering failed'));
      await server.close();
      await deps.dataplane.close();
      nse.close();
      ns.close();
      closeHubs(pool);
      pool.close();
      release();
      await metrics?.close();
      await tracing?.shutdown();
    },
  };
}

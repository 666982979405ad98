/** Starts a manager: its chain, its registry proxy, and the gRPC server on its URLs. */
import { createManagerChain } from '@nsm-ts/sdk/chains';
import type { Clock } from '@nsm-ts/sdk/core';
import type { Logger } from '@nsm-ts/sdk/core';
import { ClientPool } from '@nsm-ts/sdk/grpc';
import { closeHubs } from '@nsm-ts/sdk/elements';
import { createServer } from '@nsm-ts/sdk/grpc';
import { createManagerRegistry } from '@nsm-ts/sdk/registry';
import { scopedMonitor } from '@nsm-ts/sdk/elements';
import { daemonSecurity, type Security } from '@nsm-ts/sdk/security';
import type { MonitorScopeSelector } from '@nsm-ts/sdk/api';
import { chainMetrics, connectionsGauge, daemonMetrics, registryChainMetrics } from '@nsm-ts/sdk/metrics';
import { chainTracing, startTracing } from '@nsm-ts/sdk/tracing';
import type { ManagerConfig } from './config.js';

/** A running manager. */
export interface RunningManager {
  /** The URLs it listens on (ports resolved). */
  urls: string[];
  /** Number of connections it currently holds. */
  connections(): number;
  /** `http://host:port/metrics` when NSM_METRICS_ADDR is set. */
  metricsUrl?: string;
  close(): Promise<void>;
}

/** Usage: `const m = await startManager(readManagerConfig(), { log })`. */
export async function startManager(
  config: ManagerConfig,
  deps: { log: Logger; clock?: Clock; security?: Security },
): Promise<RunningManager> {
  const metrics = await daemonMetrics(config.metricsAddr ?? '', deps.log);
  const { security, release } = await daemonSecurity(config, deps).catch(async (err: unknown) => {
    await metrics?.close();
    throw err;
  });
  const identity = security.identity ? { identity: security.identity } : {};
  const tracing = config.tracing && startTracing(config.tracing, { service: config.name, log: deps.log });
  const pool = new ClientPool({ dialTimeoutMs: config.dialTimeoutMs, tokens: security.tokens, ...identity });
  const registry = createManagerRegistry({
    pool,
    registryUrl: config.registryUrl,
    managerUrl: config.advertiseUrl,
    nodeName: config.nodeName,
    security,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(metrics ? { metrics: registryChainMetrics(metrics.registry) } : {}),
  });
  const { handler, monitor } = createManagerChain({
    name: config.name,
    nodeName: config.nodeName,
    nse: registry.nse,
    ns: registry.ns,
    pool,
    tokens: security.tokens,
    ...(security.authorization ? { authorization: security.authorization } : {}),
    forwarderServiceName: config.forwarderServiceName,
    ...(metrics ? { metrics: chainMetrics(metrics.registry) } : {}),
    ...(tracing ? { tracing: chainTracing(tracing.tracer, config.name) } : {}),
  });
  if (metrics) connectionsGauge(metrics.registry, () => monitor.list());
  const server = createServer({ log: deps.log, ...(deps.clock ? { clock: deps.clock } : {}), ...identity });
  server.serveNetworkService(handler);
  const stream = (_ctx: unknown, selector: MonitorScopeSelector) => monitor.stream(selector);
  server.serveMonitor(
    security.authorization ? scopedMonitor(stream, { operator: (id) => security.operator(id) }) : stream,
  );
  server.serveEndpointRegistry(registry.nse);
  server.serveServiceRegistry(registry.ns);
  let urls: string[];
  try {
    urls = await server.listen(config.listenOn);
  } catch (err) {
    // An open metrics server would keep a daemon that failed to start alive.
    await metrics?.close();
    await tracing?.shutdown();
    throw err;
  }
  deps.log.info(
    {
      node: config.nodeName,
      urls,
      advertise: config.advertiseUrl,
      registry: config.registryUrl || 'embedded',
      identity: security.identity?.id ?? 'none (insecure)',
      authorize: Boolean(security.authorization),
      metrics: metrics?.url ?? 'off',
      traces: tracing?.describe ?? 'off',
    },
    'manager serving',
  );
  return {
    urls,
    connections: () => monitor.list().length,
    ...(metrics ? { metricsUrl: metrics.url } : {}),
    async close() {
      monitor.complete();
      await server.close();
      registry.close();
      closeHubs(pool);
      pool.close();
      release();
      await metrics?.close();
      await tracing?.shutdown();
    },
  };
}

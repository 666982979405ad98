/** Starts a manager: its chain, its registry proxy, and the gRPC server on its URLs. */
import { createManagerChain } from '@nsm-ts/sdk/chains';
import type { Clock } from '@nsm-ts/sdk/core';
import type { Logger } from '@nsm-ts/sdk/core';
import { ClientPool } from '@nsm-ts/sdk/grpc';
import { closeHubs } from '@nsm-ts/sdk/elements';
import { createServer } from '@nsm-ts/sdk/grpc';
import { createManagerRegistry } from '@nsm-ts/sdk/registry';
import { jwtTokenGenerator } from '@nsm-ts/sdk/tools';
import type { ManagerConfig } from './config.js';

/** A running manager. */
export interface RunningManager {
  /** The URLs it listens on (ports resolved). */
  urls: string[];
  /** Number of connections it currently holds. */
  connections(): number;
  close(): Promise<void>;
}

/** Usage: `const m = await startManager(readManagerConfig(), { log })`. */
export async function startManager(
  config: ManagerConfig,
  deps: { log: Logger; clock?: Clock },
): Promise<RunningManager> {
  const pool = new ClientPool({ dialTimeoutMs: config.dialTimeoutMs });
  const registry = createManagerRegistry({
    registryUrl: config.registryUrl,
    managerUrl: config.advertiseUrl,
    nodeName: config.nodeName,
    name: config.name,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const { handler, monitor } = createManagerChain({
    name: config.name,
    nodeName: config.nodeName,
    nse: registry.nse,
    ns: registry.ns,
    pool,
    tokens: jwtTokenGenerator({ name: config.name, lifetimeMs: config.maxTokenLifetimeMs }),
    forwarderServiceName: config.forwarderServiceName,
  });
  const server = createServer({ log: deps.log, ...(deps.clock ? { clock: deps.clock } : {}) });
  server.serveNetworkService(handler);
  server.serveMonitor((_ctx, selector) => monitor.stream(selector));
  server.serveEndpointRegistry(registry.nse);
  server.serveServiceRegistry(registry.ns);
  const urls = await server.listen(config.listenOn);
  deps.log.info(
    {
      node: config.nodeName,
      urls,
      advertise: config.advertiseUrl,
      registry: config.registryUrl || 'embedded',
    },
    'manager serving',
  );
  return {
    urls,
    connections: () => monitor.list().length,
    async close() {
      monitor.complete();
      await server.close();
      registry.close();
      closeHubs(pool);
      pool.close();
    },
  };
}

/**
 * Starts a forwarder: registers it with the local manager as an endpoint of the `forwarder` service,
 * serves its chain, and builds wires through the mechanism elements it is given.
 */
import { newEndpoint } from '../../sdk/src/api/builders.js';
import type { NetworkServiceEndpoint } from '../../sdk/src/api/types.js';
import { createForwarderChain } from '../../sdk/src/chains/forwarder.js';
import type { NetworkServiceElement } from '../../sdk/src/core/chain.js';
import type { Clock } from '../../sdk/src/core/clock.js';
import { createContext } from '../../sdk/src/core/context.js';
import type { Logger } from '../../sdk/src/core/log.js';
import { ClientPool } from '../../sdk/src/grpc/client.js';
import { closeHubs } from '../../sdk/src/networkservice/common/monitor/monitor-hub.js';
import { createServer } from '../../sdk/src/grpc/server.js';
import { cachedNsRegistry, cachedNseRegistry } from '../../sdk/src/registry/cache/cache.js';
import { createRegistryClient } from '../../sdk/src/registry/client/client.js';
import { jwtTokenGenerator } from '../../sdk/src/tools/token/token.js';
import type { ForwarderConfig } from './config.js';
import { forwarderOffer } from './offer.js';

/** A running forwarder. */
export interface RunningForwarder {
  urls: string[];
  /** Its registration as the manager stored it. */
  registration: NetworkServiceEndpoint;
  connections(): number;
  close(): Promise<void>;
}

/** What the forwarder builds with: mechanism elements by type, and their shutdown. */
export interface ForwarderDataplane {
  mechanisms: Record<string, NetworkServiceElement>;
  /** Local mechanism types it builds toward endpoints, in order of preference. */
  localTypes: string[];
  close(): Promise<void> | void;
}

/** Usage: `await startForwarder(readForwarderConfig(), { log, dataplane })`. */
export async function startForwarder(
  config: ForwarderConfig,
  deps: { log: Logger; clock?: Clock; dataplane: ForwarderDataplane },
): Promise<RunningForwarder> {
  const pool = new ClientPool({ dialTimeoutMs: config.dialTimeoutMs });
  const manager = pool.get(config.connectTo);
  // Endpoint selection runs on every request: keep a watched copy of the registry as the manager sees it.
  const nse = cachedNseRegistry(manager.endpointRegistry, { log: deps.log });
  const ns = cachedNsRegistry(manager.serviceRegistry, { log: deps.log });
  const { handler, monitor } = createForwarderChain({
    name: config.name,
    nse,
    ns,
    pool,
    tokens: jwtTokenGenerator({ name: config.name, lifetimeMs: config.maxTokenLifetimeMs }),
    mechanisms: deps.dataplane.mechanisms,
    nodeName: config.nodeName,
    offer: forwarderOffer({
      tunnelIp: config.tunnelIp,
      vxlanPort: config.vxlanPort,
      localTypes: deps.dataplane.localTypes,
    }),
  });
  const server = createServer({ log: deps.log, ...(deps.clock ? { clock: deps.clock } : {}) });
  server.serveNetworkService(handler);
  server.serveMonitor((_ctx, selector) => monitor.stream(selector));
  const urls = await server.listen(config.listenOn);
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
    throw err;
  }
  deps.log.info({ node: config.nodeName, urls, manager: config.connectTo }, 'forwarder serving');
  return {
    urls,
    registration,
    connections: () => monitor.list().length,
    async close() {
      monitor.complete();
      await registry.close(ctx).catch((err: unknown) => deps.log.warn({ err }, 'unregistering failed'));
      await server.close();
      await deps.dataplane.close();
      nse.close();
      ns.close();
      closeHubs(pool);
      pool.close();
    },
  };
}

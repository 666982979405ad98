/** Starts the registry: the in-memory registry chains served over gRPC with health. */
import type { Clock } from '@nsm-ts/sdk/core';
import type { Logger } from '@nsm-ts/sdk/core';
import { createServer } from '@nsm-ts/sdk/grpc';
import { createRegistryServer, type RegistryHandlers } from '@nsm-ts/sdk/registry';
import { setupSecurity, type Security } from '@nsm-ts/sdk/security';
import type { RegistryConfig } from './config.js';

/** A running registry. */
export interface RunningRegistry {
  /** The bound URLs (ports filled in for `tcp://host:0`). */
  urls: string[];
  /** The handlers being served (for in-process inspection). */
  registry: RegistryHandlers;
  /** Stops serving, ends watch streams, removes unix sockets and cancels expiry timers. */
  close(): Promise<void>;
}

/**
 * Serves the registry as `config` says. Usage (what main does):
 * `const running = await startRegistry(parseRegistryConfig(process.env), { log })`.
 */
export async function startRegistry(
  config: RegistryConfig,
  deps: { log: Logger; clock?: Clock; security?: Security },
): Promise<RunningRegistry> {
  const security =
    deps.security ??
    (await setupSecurity(config.security, {
      name: config.name,
      tokenLifetimeMs: config.maxTokenLifetimeMs,
      log: deps.log,
    }));
  const registry = createRegistryServer({
    defaultLifetimeMs: config.expirePeriodMs,
    security,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
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
      if (!deps.security) security.close();
    }
  };
  try {
    const urls = await server.listen(config.listenOn);
    return { urls, registry, close };
  } catch (err) {
    await close();
    throw err;
  }
}

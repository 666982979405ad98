/**
 * @nsm-ts/sdk: the SDK for network service clients and endpoints (CNFs). The building blocks of the
 * mesh's own daemons are in its subpaths: `@nsm-ts/sdk/core`, `/api`, `/grpc`, `/chains`, `/elements`,
 * `/registry`, `/tools`.
 *
 * Usage:
 * ```ts
 * import { createEndpoint, createClient } from '@nsm-ts/sdk';
 * const nse = await createEndpoint({ serviceNames: ['db'], labels: { app: 'db' }, cidrPrefix: '10.0.0.0/24' });
 * const conn = await createClient().request({ networkService: 'db', labels: { app: 'web' } });
 * ```
 */
export * from './client/create-client.js';
export * from './endpoint/create-endpoint.js';
export * from './endpoint/kernel-endpoint.js';
export * from './endpoint/external/vxlan-url.js';
export * from './endpoint/external/gateway.js';
export * from './api/types.js';
export * from './api/builders.js';
export {
  chain,
  element,
  toHandler,
  tail,
  type NetworkServiceElement,
  type NetworkServiceHandler,
} from './core/chain.js';
export {
  createContext,
  createContextKey,
  withValue,
  withTimeout,
  withCancel,
  detached,
  type Context,
  type ContextKey,
} from './core/context.js';
export { realClock, FakeClock, type Clock } from './core/clock.js';
export { NsmError, Code, codeName } from './core/errors.js';
export { createLogger, type Logger } from './core/log.js';
export { metadata, metadataSlot, type MetadataSlot } from './core/metadata.js';
export { createServer, type MeshServer, type ServerOptions } from './grpc/server.js';
export { dial, ClientPool, type MeshClient, type MeshClients, type DialOptions } from './grpc/client.js';
export { createClientChain } from './chains/client.js';
export { createEndpointChain } from './chains/endpoint.js';
export { createManagerChain } from './chains/manager.js';
export { createForwarderChain } from './chains/forwarder.js';
export { createRegistryServer, createManagerRegistry } from './registry/chains.js';
export { createRegistryClient, type RegistryClient } from './registry/client/client.js';
export type { LivenessCheck } from './networkservice/common/heal/heal.js';
export { tapOptions, withTap, type TapOptions } from './networkservice/common/mechanisms/kernel-tap.js';

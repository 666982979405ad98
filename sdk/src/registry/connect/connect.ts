/**
 * connect: the end of a registry chain that forwards Register, Find and Unregister to a remote
 * registry (or manager) over gRPC. The registry path this hop made (`registryUpdatePath`) travels in the
 * outgoing metadata; the pool's transport signs the call's token.
 */
import { defer, type Observable } from 'rxjs';
import type { Context } from '../../core/context.js';
import type { NsHandler, NseHandler, RegistryHandler } from '../../core/registry-chain.js';
import type { MeshClient, MeshClients } from '../../grpc/client.js';

/** Options for `connectNse` / `connectNs`. */
export interface ConnectOptions {
  /** The remote registry, e.g. `tcp://registry:5002` or `unix:///run/nsm/nsm.sock`. */
  url: string;
  /** Where the channel comes from; its owner closes it. */
  pool: MeshClients;
}

function forward<T, Q, R>(
  options: ConnectOptions,
  pick: (client: MeshClient) => RegistryHandler<T, Q, R>,
): RegistryHandler<T, Q, R> {
  const remote = (): RegistryHandler<T, Q, R> => pick(options.pool.get(options.url));
  return {
    register: async (ctx: Context, record: T) => remote().register(ctx, record),
    find: (ctx: Context, query: Q): Observable<R> => defer(() => remote().find(ctx, query)),
    unregister: async (ctx: Context, record: T) => remote().unregister(ctx, record),
  };
}

/** NSE registry calls sent to `url`. Usage: `toRegistryHandler([refresh()], connectNse({ url, pool }))`. */
export function connectNse(options: ConnectOptions): NseHandler {
  return forward(options, (client) => client.endpointRegistry);
}

/** NetworkService registry calls sent to `url`. Usage: `connectNs({ url, pool })`. */
export function connectNs(options: ConnectOptions): NsHandler {
  return forward(options, (client) => client.serviceRegistry);
}

/**
 * connect: the end of a registry chain that forwards Register, Find and Unregister to a remote
 * registry (or manager) over gRPC, adding this hop to the registry path in metadata.
 */
import { defer, type Observable } from 'rxjs';
import type { Context } from '../../core/context.js';
import type { NsHandler, NseHandler, RegistryHandler } from '../../core/registry-chain.js';
import type { MeshClient, MeshClients } from '../../grpc/client.js';
import { withRegistryHop } from './path.js';

/** Options for `connectNse` / `connectNs`. */
export interface ConnectOptions {
  /** The remote registry, e.g. `tcp://registry:5002` or `unix:///run/nsm/nsm.sock`. */
  url: string;
  /** Where the channel comes from; its owner closes it. */
  pool: MeshClients;
  /** This hop's name in the registry path (default `registry-client`). */
  name?: string;
}

function forward<T, Q, R>(
  options: ConnectOptions,
  pick: (client: MeshClient) => RegistryHandler<T, Q, R>,
): RegistryHandler<T, Q, R> {
  const name = options.name ?? 'registry-client';
  const remote = (): RegistryHandler<T, Q, R> => pick(options.pool.get(options.url));
  return {
    register: async (ctx: Context, record: T) => remote().register(withRegistryHop(ctx, name), record),
    find: (ctx: Context, query: Q): Observable<R> =>
      defer(() => remote().find(withRegistryHop(ctx, name), query)),
    unregister: async (ctx: Context, record: T) => remote().unregister(withRegistryHop(ctx, name), record),
  };
}

/** NSE registry calls sent to `url`. Usage: `toRegistryHandler([refresh()], connectNse({ url, pool }))`. */
export function connectNse(options: ConnectOptions): NseHandler {
  return forward(options, (client) => client.endpointRegistry);
}

/** NetworkService registry calls sent to `url`. Usage: `connectNs({ url, pool, name: 'nsmgr-1' })`. */
export function connectNs(options: ConnectOptions): NsHandler {
  return forward(options, (client) => client.serviceRegistry);
}

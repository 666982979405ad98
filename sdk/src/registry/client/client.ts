/**
 * The registry client an NSE or forwarder uses to register itself through its manager (or straight
 * with a registry): register once, stay registered (refresh and heal), unregister on close.
 */
import type { NetworkServiceEndpoint } from '../../api/types.js';
import { createContext, detached, type Context } from '../../core/context.js';
import { toRegistryHandler, type NsHandler, type NseHandler } from '../../core/registry-chain.js';
import { ClientPool } from '../../grpc/client.js';
import { connectNs, connectNse } from '../connect/connect.js';
import { registryRefresh, type RefreshOptions } from '../refresh/refresh.js';

/** Options for `createRegistryClient`: give `url` (gRPC) or `handlers` (in process). */
export interface RegistryClientOptions {
  /** The manager or registry to register with, e.g. `unix:///var/lib/networkservicemesh/nsm.io.sock`. */
  url?: string;
  /** In-process registry handlers, used instead of `url`. */
  handlers?: { nse: NseHandler; ns: NsHandler };
  /** This client's name in the registry path (default `registry-client`). */
  name?: string;
  /** Channel pool to use; by default the client owns one and closes it on `close()`. */
  pool?: ClientPool;
  /** Refresh timing and heal. */
  refresh?: RefreshOptions;
}

/** A registering client. */
export interface RegistryClient {
  /** The NSE chain (refreshing Register, plain Find and Unregister). */
  readonly nse: NseHandler;
  /** The NetworkService chain (no refresh: services do not expire). */
  readonly ns: NsHandler;
  /** Registers `nse` and keeps it registered until `unregister` or `close`; returns the stored record. */
  register(ctx: Context, nse: NetworkServiceEndpoint): Promise<NetworkServiceEndpoint>;
  /** Stops refreshing `nse` and unregisters it. */
  unregister(ctx: Context, nse: NetworkServiceEndpoint): Promise<void>;
  /**
   * Unregisters everything registered through this client (best effort) and releases its channels.
   * `{ unregister: false }` only stops refreshing: the records stay until they expire.
   */
  close(ctx?: Context, options?: { unregister?: boolean }): Promise<void>;
}

/**
 * Creates a registry client. Usage:
 * `const reg = createRegistryClient({ url: managerUrl }); const me = await reg.register(ctx, nse); ... await reg.close()`.
 */
export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const ownPool = !options.pool && !options.handlers;
  const pool = options.pool ?? new ClientPool();
  let upstream: { nse: NseHandler; ns: NsHandler };
  if (options.handlers) upstream = options.handlers;
  else if (options.url) {
    const connect = { url: options.url, pool, name: options.name ?? 'registry-client' };
    upstream = { nse: connectNse(connect), ns: connectNs(connect) };
  } else throw new Error('createRegistryClient needs a url or in-process handlers');

  const refresh = registryRefresh(options.refresh);
  const nse = toRegistryHandler([refresh], upstream.nse);
  const registered = new Map<string, NetworkServiceEndpoint>();

  return {
    nse,
    ns: upstream.ns,
    async register(ctx, record) {
      const result = await nse.register(ctx, record);
      registered.set(result.name, result);
      return result;
    },
    async unregister(ctx, record) {
      registered.delete(record.name);
      await nse.unregister(ctx, record);
    },
    async close(ctx = createContext(), closeOptions = {}) {
      const records = closeOptions.unregister === false ? [] : [...registered.values()];
      registered.clear();
      const cleanup = detached(ctx, 5_000);
      try {
        const results = await Promise.allSettled(records.map((r) => nse.unregister(cleanup.ctx, r)));
        results.forEach((r, i) => {
          if (r.status === 'rejected')
            ctx.log.warn({ nse: records[i]?.name, err: r.reason as unknown }, 'unregister on close failed');
        });
      } finally {
        cleanup.cancel();
        refresh.close();
        if (ownPool) pool.close();
      }
    },
  };
}

/**
 * connect: the server-side element that continues a request to the next hop. It runs a client chain
 * (per-hop client elements such as the monitor relay and the token) and then calls the next hop over
 * gRPC at the URL chosen by an earlier element (`withClientUrl`).
 */
import type { NetworkServiceElement, NetworkServiceHandler } from '../../../core/chain.js';
import { toHandler } from '../../../core/chain.js';
import { Code, NsmError } from '../../../core/errors.js';
import type { MeshClients } from '../../../grpc/client.js';
import { clientUrlOf } from '../clienturl/clienturl.js';
import { markClientFollows } from '../trimpath/trimpath.js';

/** Options for `connect`. */
export interface ConnectOptions {
  /** Shared gRPC clients, one per URL. */
  pool: MeshClients;
  /** Client elements run before the call (e.g. `metadata('client')`, `monitorRelay(...)`, `updateTokenClient(...)`). */
  client?: NetworkServiceElement[];
}

/** A handler that calls the next hop chosen by `withClientUrl` over gRPC. */
export function grpcNextHop(pool: MeshClients): NetworkServiceHandler {
  const target = (ctx: Parameters<NetworkServiceHandler['request']>[0]): NetworkServiceHandler => {
    const url = clientUrlOf(ctx);
    if (!url) throw new NsmError(Code.INTERNAL, 'no next-hop URL selected before connect');
    return pool.get(url).networkService;
  };
  return {
    request: (ctx, req) => target(ctx).request(ctx, req),
    close: (ctx, conn) => target(ctx).close(ctx, conn),
  };
}

/** Usage: `connect({ pool, client: [metadata('client'), monitorRelay(events), updateTokenClient(tokens)] })`. */
export function connect(options: ConnectOptions): NetworkServiceElement {
  const handler = toHandler(options.client ?? [], grpcNextHop(options.pool));
  return {
    // connect ends the server chain: `next` (the tail) is not called.
    request: (ctx, req) => {
      markClientFollows(ctx);
      return handler.request(ctx, req);
    },
    close: (ctx, conn) => {
      markClientFollows(ctx);
      return handler.close(ctx, conn);
    },
  };
}

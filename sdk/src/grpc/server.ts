/**
 * The server side of the gRPC boundary: turns calls into contexts (deadline, cancellation, metadata,
 * logger) and chain errors into gRPC statuses. The only server module that imports grpc-js.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { rmSync } from 'node:fs';
import type { Observable, Subscription } from 'rxjs';
import type {
  Connection,
  ConnectionEvent,
  MonitorScopeSelector,
  NetworkServiceRequest,
} from '../api/types.js';
import type { MonitorConnectionHandlers } from '@nsm-ts/proto/gen/connection/MonitorConnection.js';
import type { Empty } from '@nsm-ts/proto/gen/google/protobuf/Empty.js';
import type { NetworkServiceHandlers } from '@nsm-ts/proto/gen/networkservice/NetworkService.js';
import type { NetworkServiceEndpointRegistryHandlers } from '@nsm-ts/proto/gen/registry/NetworkServiceEndpointRegistry.js';
import type { NetworkServiceRegistryHandlers } from '@nsm-ts/proto/gen/registry/NetworkServiceRegistry.js';
import type { NetworkServiceHandler } from '../core/chain.js';
import { realClock, type Clock } from '../core/clock.js';
import { createContext, withValue, type Context } from '../core/context.js';
import { Code, NsmError, codeName } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { NsHandler, NseHandler, RegistryHandler } from '../core/registry-chain.js';
import {
  ANSWERED_TRAILER,
  kIncomingMetadata,
  kServedCall,
  type CallPeerInfo,
  type ServedCall,
} from './call-metadata.js';
import type { Identity } from '../security/identity.js';
import { servedPeer, type PeerSource } from './served-peer.js';
import { serverCredentials } from './tls.js';
import { protos } from '@nsm-ts/proto';
import { formatUrl, parseUrl } from './url.js';

/** Serves the monitor stream for a selector. */
export type MonitorSource = (ctx: Context, selector: MonitorScopeSelector) => Observable<ConnectionEvent>;

/** Options for `createServer`. */
export interface ServerOptions {
  log?: Logger;
  clock?: Clock;
  /**
   * Serve mTLS with this identity on every URL (unix sockets too): callers must present a certificate
   * leading to its trust bundle, and elements see the caller as `servedCallOf(ctx).peer`. Without it the
   * server is plaintext (insecure mode).
   */
  identity?: Identity;
  /** Largest accepted request in bytes (default 4 MiB): larger ones fail with RESOURCE_EXHAUSTED. */
  maxReceiveBytes?: number;
}

/** A gRPC server for any of the mesh services, with health. */
export interface MeshServer {
  serveNetworkService(handler: NetworkServiceHandler): void;
  serveMonitor(source: MonitorSource): void;
  serveEndpointRegistry(handler: NseHandler): void;
  serveServiceRegistry(handler: NsHandler): void;
  /** Binds every URL (`tcp://host:0` picks a port) and returns the bound URLs. */
  listen(urls: string[]): Promise<string[]>;
  /** Stops accepting calls, cancels streams, removes unix sockets it created. */
  close(): Promise<void>;
}

/** One shared abort reason: grpc-js reports 'cancelled' for many calls, and an Error per call is costly. */
const cancelledByCaller = new NsmError(Code.CANCELLED, 'the call was cancelled by the caller');

// The caller tells an answer from a failed connection by this trailer (call-metadata.ts).
function toStatus(err: unknown): Partial<grpc.StatusObject> {
  const nsm = NsmError.from(err);
  const metadata = new grpc.Metadata();
  metadata.set(ANSWERED_TRAILER, '1');
  return { code: nsm.code, details: nsm.message, metadata };
}

function metadataRecord(md: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(md.getMap())) if (typeof value === 'string') out[key] = value;
  return out;
}

/**
 * The served call with its TLS peer, looked up when an element first asks (the policies do; a Find or a
 * health check does not, and asking the TLS socket costs). mTLS has checked the chain already; a peer
 * without a SPIFFE ID of this trust domain counts as none, which the policies refuse.
 */
function lazyPeer(call: PeerSource, trustDomain: string, ctx: Context): ServedCall {
  let looked = false;
  let peer: CallPeerInfo | undefined;
  return {
    get peer() {
      if (!looked) {
        looked = true;
        const found = servedPeer(call);
        if (found instanceof NsmError) ctx.log.warn({ err: found.message }, 'caller refused');
        else if (found.trustDomain !== trustDomain)
          ctx.log.warn({ caller: found.id, trustDomain }, 'caller of another trust domain refused');
        else peer = found;
      }
      return peer;
    },
  };
}

/**
 * Creates a server. Usage:
 * `const s = createServer({ log }); s.serveNetworkService(handler); await s.listen(['unix:///run/nsm.sock'])`.
 */
export function createServer(options: ServerOptions = {}): MeshServer {
  const log = options.log ?? silentLogger;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxReceiveBytes ?? 4 * 1024 * 1024,
  });
  const health = new HealthImplementation({ '': 'SERVING' });
  health.addToServer(server);
  const sockets: string[] = [];
  const streams = new Set<() => void>();
  const p = protos();

  const contextFor = (
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
    method: string,
  ): Context => {
    const trustDomain = options.identity?.trustDomain;
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort(cancelledByCaller));
    const deadline = call.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() : deadline;
    const init: Parameters<typeof createContext>[0] = {
      signal: controller.signal,
      log: log.child({ method }),
    };
    const clock = options.clock ?? realClock;
    init.clock = clock;
    // The caller's deadline is wall time; the context's is on its clock (a test's fake one, say).
    if (Number.isFinite(ms)) init.deadline = clock.now() + (ms - realClock.now());
    const ctx = withValue(createContext(init), kIncomingMetadata, metadataRecord(call.metadata));
    return withValue(ctx, kServedCall, trustDomain ? lazyPeer(call, trustDomain, ctx) : {});
  };

  const unary =
    <Req, Res>(
      method: string,
      fn: (ctx: Context, req: Req) => Promise<Res>,
    ): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      const ctx = contextFor(call, method);
      fn(ctx, call.request).then(
        (res) => callback(null, res),
        (err: unknown) => {
          const status = toStatus(err);
          ctx.log.debug({ code: codeName(status.code ?? 2), err: status.details }, 'call failed');
          callback(status);
        },
      );
    };

  const stream =
    <Req, Res>(
      method: string,
      fn: (ctx: Context, req: Req) => Observable<Res>,
    ): grpc.handleServerStreamingCall<Req, Res> =>
    (call) => {
      const ctx = contextFor(call, method);
      let sub: Subscription | undefined;
      const stop = (): void => {
        sub?.unsubscribe();
        streams.delete(stop);
        if (!call.writableEnded) call.end();
      };
      streams.add(stop);
      call.on('cancelled', stop);
      try {
        sub = fn(ctx, call.request).subscribe({
          next: (value) => void call.write(value),
          error: (err: unknown) => {
            streams.delete(stop);
            // grpc-js turns an 'error' event into the call's status; destroy() would drop it.
            call.emit('error', toStatus(err));
          },
          complete: () => {
            streams.delete(stop);
            call.end();
          },
        });
      } catch (err) {
        streams.delete(stop);
        call.emit('error', toStatus(err));
      }
    };

  /** The handlers of a registry service, typed by what `handler` takes and gives. */
  const registryHandlers = <T, Q, R>(name: string, handler: RegistryHandler<T, Q, R>) => ({
    Register: unary<T, T>(`${name}/Register`, (ctx, rec) => handler.register(ctx, rec)),
    Find: stream<Q, R>(`${name}/Find`, (ctx, query) => handler.find(ctx, query)),
    Unregister: unary<T, Empty>(`${name}/Unregister`, async (ctx, rec) => {
      await handler.unregister(ctx, rec);
      return {};
    }),
  });

  return {
    serveNetworkService(handler) {
      const handlers: NetworkServiceHandlers = {
        Request: unary<NetworkServiceRequest, Connection>(
          'networkservice.NetworkService/Request',
          (ctx, req) => handler.request(ctx, req),
        ),
        Close: unary<Connection, Empty>('networkservice.NetworkService/Close', async (ctx, conn) => {
          await handler.close(ctx, conn);
          return {};
        }),
      };
      server.addService(p.networkservice.NetworkService.service, handlers);
      health.setStatus('networkservice.NetworkService', 'SERVING');
    },
    serveMonitor(source) {
      const handlers: MonitorConnectionHandlers = {
        MonitorConnections: stream<MonitorScopeSelector, ConnectionEvent>(
          'connection.MonitorConnection/MonitorConnections',
          (ctx, selector) => source(ctx, selector),
        ),
      };
      server.addService(p.connection.MonitorConnection.service, handlers);
      health.setStatus('connection.MonitorConnection', 'SERVING');
    },
    serveEndpointRegistry(handler) {
      const name = 'registry.NetworkServiceEndpointRegistry';
      const handlers: NetworkServiceEndpointRegistryHandlers = registryHandlers(name, handler);
      server.addService(p.registry.NetworkServiceEndpointRegistry.service, handlers);
      health.setStatus(name, 'SERVING');
    },
    serveServiceRegistry(handler) {
      const name = 'registry.NetworkServiceRegistry';
      const handlers: NetworkServiceRegistryHandlers = registryHandlers(name, handler);
      server.addService(p.registry.NetworkServiceRegistry.service, handlers);
      health.setStatus(name, 'SERVING');
    },
    async listen(urls) {
      const bound: string[] = [];
      for (const url of urls) {
        const parsed = parseUrl(url);
        if (parsed.kind === 'unix') rmSync(parsed.path, { force: true });
        const target = parsed.kind === 'unix' ? `unix://${parsed.path}` : `${parsed.host}:${parsed.port}`;
        const credentials = options.identity
          ? serverCredentials(options.identity)
          : grpc.ServerCredentials.createInsecure();
        const port = await new Promise<number>((resolve, reject) =>
          server.bindAsync(target, credentials, (err, p) => (err ? reject(err) : resolve(p))),
        );
        if (parsed.kind === 'unix') sockets.push(parsed.path);
        bound.push(parsed.kind === 'unix' ? url : formatUrl({ ...parsed, port }));
      }
      return bound;
    },
    async close() {
      for (const stop of [...streams]) stop();
      await new Promise<void>((resolve) => {
        // The wall clock on purpose: this waits for real connections, whatever clock the chains use.
        const cancel = realClock.after(2000, () => {
          server.forceShutdown();
          resolve();
        });
        server.tryShutdown(() => {
          cancel();
          resolve();
        });
      });
      for (const path of sockets) rmSync(path, { force: true });
    },
  };
}

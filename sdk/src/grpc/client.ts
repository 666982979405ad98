/**
 * The client side of the gRPC boundary: handlers that call a remote mesh server, carrying the context's
 * deadline, cancellation and outgoing metadata, and mapping gRPC statuses to NsmError.
 */
import * as grpc from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import type { Connection, ConnectionEvent, MonitorScopeSelector, NetworkServiceRequest } from '../api/types.js';
import type { NetworkServiceHandler } from '../core/chain.js';
import type { Context } from '../core/context.js';
import { Code, NsmError } from '../core/errors.js';
import type { NsHandler, NseHandler, RegistryHandler } from '../core/registry-chain.js';
import { kOutgoingMetadata } from './call-metadata.js';
import { protos } from './protos.js';
import { grpcTarget } from './url.js';

/** Everything one can call on a mesh server at one URL. */
export interface MeshClient {
  readonly url: string;
  readonly networkService: NetworkServiceHandler;
  monitor(ctx: Context, selector: MonitorScopeSelector): Observable<ConnectionEvent>;
  readonly endpointRegistry: NseHandler;
  readonly serviceRegistry: NsHandler;
  close(): void;
}

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => grpc.ClientUnaryCall;
type Streaming = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

function callArgs(ctx: Context): { md: grpc.Metadata; opts: grpc.CallOptions } {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(ctx.value(kOutgoingMetadata))) md.set(k, v);
  const opts: grpc.CallOptions = {};
  if (ctx.deadline !== undefined) opts.deadline = ctx.deadline;
  return { md, opts };
}

function fromServiceError(err: grpc.ServiceError, url: string): NsmError {
  const detail = err.details || err.message;
  const text = err.code === grpc.status.UNAVAILABLE ? `${url} is unavailable: ${detail}` : detail;
  return new NsmError((err.code as number as Code) ?? Code.UNKNOWN, text, { cause: err });
}

function unaryCall<Res>(ctx: Context, url: string, method: Unary, req: unknown): Promise<Res> {
  if (ctx.signal.aborted) return Promise.reject(NsmError.from(ctx.signal.reason, Code.CANCELLED));
  const { md, opts } = callArgs(ctx);
  return new Promise<Res>((resolve, reject) => {
    const onAbort = (): void => call.cancel();
    const call = method(req, md, opts, (err, res) => {
      ctx.signal.removeEventListener('abort', onAbort);
      if (err) reject(fromServiceError(err, url));
      else resolve(res as Res);
    });
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}

function streamCall<Res>(ctx: Context, url: string, method: Streaming, req: unknown): Observable<Res> {
  return new Observable<Res>((subscriber) => {
    const { md, opts } = callArgs(ctx);
    const call = method(req, md, opts);
    let cancelled = false;
    call.on('data', (value: Res) => subscriber.next(value));
    call.on('error', (err: grpc.ServiceError) => {
      if (!cancelled) subscriber.error(fromServiceError(err, url));
    });
    call.on('end', () => subscriber.complete());
    const onAbort = (): void => subscriber.error(NsmError.from(ctx.signal.reason, Code.CANCELLED));
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    return () => {
      ctx.signal.removeEventListener('abort', onAbort);
      cancelled = true;
      call.cancel();
    };
  });
}

function registryClient<T, Q, R>(client: grpc.Client, url: string): RegistryHandler<T, Q, R> {
  const c = client as unknown as { Register: Unary; Find: Streaming; Unregister: Unary };
  return {
    register: (ctx, rec) => unaryCall<T>(ctx, url, c.Register.bind(client), rec),
    find: (ctx, query) => streamCall<R>(ctx, url, c.Find.bind(client), query),
    unregister: async (ctx, rec) => {
      await unaryCall(ctx, url, c.Unregister.bind(client), rec);
    },
  };
}

/** Options for `dial`. */
export interface DialOptions {
  /** Largest accepted response in bytes. */
  maxReceiveBytes?: number;
}

/** Creates clients for every mesh service at `url` over one channel. Usage: `const c = dial('tcp://10.0.0.1:5001')`. */
export function dial(url: string, options: DialOptions = {}): MeshClient {
  const p = protos();
  const target = grpcTarget(url);
  const creds = grpc.credentials.createInsecure();
  const channelOptions: grpc.ChannelOptions = { 'grpc.max_receive_message_length': options.maxReceiveBytes ?? 4 * 1024 * 1024 };
  const ns = new p.networkservice.NetworkService(target, creds, channelOptions);
  const channel = ns.getChannel();
  const shared = { ...channelOptions, channelOverride: channel as grpc.Channel };
  const mon = new p.connection.MonitorConnection(target, creds, shared);
  const nse = new p.registry.NetworkServiceEndpointRegistry(target, creds, shared);
  const nsr = new p.registry.NetworkServiceRegistry(target, creds, shared);
  const nsc = ns as unknown as { Request: Unary; Close: Unary };
  const monc = mon as unknown as { MonitorConnections: Streaming };
  return {
    url,
    networkService: {
      request: (ctx, req: NetworkServiceRequest) => unaryCall<Connection>(ctx, url, nsc.Request.bind(ns), req),
      close: async (ctx, conn) => {
        await unaryCall(ctx, url, nsc.Close.bind(ns), conn);
      },
    },
    monitor: (ctx, selector) => streamCall<ConnectionEvent>(ctx, url, monc.MonitorConnections.bind(mon), selector),
    endpointRegistry: registryClient(nse, url),
    serviceRegistry: registryClient(nsr, url),
    close: () => ns.close(),
  };
}

/** Caches one MeshClient per URL; `close()` closes them all. */
export class ClientPool {
  private readonly clients = new Map<string, MeshClient>();

  constructor(private readonly options: DialOptions = {}) {}

  get(url: string): MeshClient {
    let client = this.clients.get(url);
    if (!client) {
      client = dial(url, this.options);
      this.clients.set(url, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

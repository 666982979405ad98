/**
 * The client side of the gRPC boundary: handlers that call a remote mesh server, carrying the context's
 * deadline, cancellation and outgoing metadata, and mapping gRPC statuses to NsmError.
 */
import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { Observable } from 'rxjs';
import type { ConnectionEvent, MonitorScopeSelector } from '../api/types.js';
import type { NetworkServiceHandler } from '../core/chain.js';
import { realClock } from '../core/clock.js';
import type { Context } from '../core/context.js';
import { Code, NsmError, isCode } from '../core/errors.js';
import type { NsHandler, NseHandler, RegistryHandler } from '../core/registry-chain.js';
import { ANSWERED_TRAILER, kOutgoingMetadata } from './call-metadata.js';
import { protos } from '@nsm-ts/proto';
import { grpcTarget, parseUrl } from './url.js';
import type { Identity } from '../security/identity.js';
import type { TokenGenerator } from '../security/tokens.js';
import { formatRfc3339 } from '../tools/token/rfc3339.js';
import { channelCredentials, TLS_CHANNEL_OPTIONS, type PeerCheck, type TlsPeer } from './tls.js';
import { TOKEN_EXPIRES_METADATA_KEY, TOKEN_METADATA_KEY } from './call-metadata.js';
import { traceHeaders } from '../tracing/propagation.js';

/** Everything one can call on a mesh server at one URL. */
export interface MeshClient {
  readonly url: string;
  readonly networkService: NetworkServiceHandler;
  monitor(ctx: Context, selector: MonitorScopeSelector): Observable<ConnectionEvent>;
  readonly endpointRegistry: NseHandler;
  readonly serviceRegistry: NsHandler;
  /** The grpc.health.v1 status of `service` ('' = the server as a whole). */
  health(ctx: Context, service?: string): Promise<string>;
  close(): void;
}

/**
 * What a call needs of a generated method definition (proto/gen): its path and its typed codecs, so
 * that requests and responses are typed from the .proto files to the chain.
 */
interface Rpc<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Res;
}

/** One channel to a mesh server, how long a call waits for it, and what each call carries. */
interface Dialed {
  client: grpc.Client;
  dialTimeoutMs: number;
  /** Signs the per-call token (`nsm-client-token`), addressed to the server's identity. */
  tokens?: TokenGenerator;
  /** The server's identity, learnt at the last TLS handshake. */
  server: { peer?: TlsPeer };
  /** Whether the channel uses mTLS. */
  secure: boolean;
}

/**
 * The context's deadline as the wall-clock time gRPC wants: the deadline is on the context's clock
 * (a test's fake one, say), the transport's timers are real. Undefined without a deadline.
 */
function wallDeadline(ctx: Context, atMostMs = Infinity): number | undefined {
  const left = ctx.deadline === undefined ? Infinity : ctx.deadline - ctx.clock.now();
  const ms = Math.min(left, atMostMs);
  return ms === Infinity ? undefined : realClock.now() + Math.max(0, ms);
}

async function callArgs(
  ctx: Context,
  dialed: Dialed,
): Promise<{ md: grpc.Metadata; opts: grpc.CallOptions }> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(ctx.value(kOutgoingMetadata))) md.set(k, v);
  // W3C trace context (traceparent, tracestate) of the current span, when the call is traced.
  for (const [k, v] of Object.entries(traceHeaders(ctx))) md.set(k, v);
  if (dialed.tokens) {
    // As upstream's per-RPC credentials: who we are, for the server we reached (its TLS identity).
    const { token, expiresAt } = await dialed.tokens(
      ctx,
      dialed.server.peer ? { id: dialed.server.peer.id } : undefined,
    );
    md.set(TOKEN_METADATA_KEY, token);
    md.set(TOKEN_EXPIRES_METADATA_KEY, formatRfc3339(expiresAt));
  }
  const opts: grpc.CallOptions = {};
  const deadline = wallDeadline(ctx);
  if (deadline !== undefined) opts.deadline = deadline;
  return { md, opts };
}

function unixPath(url: string): string | undefined {
  try {
    const parsed = parseUrl(url);
    return parsed.kind === 'unix' ? parsed.path : undefined;
  } catch {
    return undefined;
  }
}

function fromServiceError(err: grpc.ServiceError, url: string): NsmError {
  const detail = err.details || err.message;
  // Only a hop that did not answer is unavailable itself; an answer passes on what it found further on.
  const answered = (err.metadata?.get(ANSWERED_TRAILER).length ?? 0) > 0;
  const text =
    err.code === grpc.status.UNAVAILABLE && !answered ? `${url} is unavailable: ${detail}` : detail;
  return new NsmError(isCode(err.code) ? err.code : Code.UNKNOWN, text, { cause: err });
}

/**
 * Waits until the channel to `url` is ready, at most `dialTimeoutMs` (and never past the context's
 * deadline), so that a hop restarting right now is waited for while a dead one fails fast.
 */
function ready(ctx: Context, dialed: Dialed, url: string): Promise<void> {
  const { client, dialTimeoutMs } = dialed;
  const channel = client.getChannel();
  if (channel.getConnectivityState(true) === grpc.connectivityState.READY) return Promise.resolve();
  // Nobody listens on a unix socket that does not exist (a stopped or deleted pod removed it): fail
  // now instead of waiting out the dial timeout; a hop that is restarting is retried by heal anyway.
  const socket = unixPath(url);
  if (socket !== undefined && !existsSync(socket))
    return Promise.reject(new NsmError(Code.UNAVAILABLE, `${url} is unavailable: no socket ${socket}`));
  const deadline = wallDeadline(ctx, dialTimeoutMs) ?? realClock.now() + dialTimeoutMs;
  return new Promise((resolve, reject) =>
    client.waitForReady(deadline, (err) => {
      if (!err) {
        resolve();
        return;
      }
      void lastError(client, dialed.secure).then((why) =>
        reject(
          new NsmError(
            Code.UNAVAILABLE,
            `cannot connect to ${url} within ${dialTimeoutMs} ms${why ? `: ${why}` : ''}`,
            { cause: err },
          ),
        ),
      );
    }),
  );
}

/**
 * Why the channel cannot connect (a refused certificate, say): a call that does not wait for the
 * channel fails at once with the transport's last error. Only asked after waiting has failed.
 */
function lastError(client: grpc.Client, secure: boolean): Promise<string | undefined> {
  const probe = healthCheck;
  if (!probe) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      probe.path,
      probe.requestSerialize,
      probe.responseDeserialize,
      { service: '' },
      new grpc.Metadata(),
      { deadline: realClock.now() + 200 },
      (err) => {
        const details = err?.details ?? '';
        const last = /Last error: (?:Error: )?(.*?)\.?(?: \(\d{4}-[^)]*\))?\.?(?: Resolution note:.*)?$/s
          .exec(details)?.[1]
          ?.trim();
        if (err?.code !== grpc.status.UNAVAILABLE) return resolve(undefined);
        resolve(explain(last || details, secure));
      },
    );
  });
}

/** OpenSSL's words for a chain we do not trust, said in the mesh's terms. */
const untrusted =
  /self-signed certificate|unable to get local issuer|unable to verify the first certificate/i;

function explain(why: string, secure: boolean): string | undefined {
  if (!why) return undefined;
  if (secure && untrusted.test(why))
    return `the server's certificate is not issued under this identity's trust bundle (${why})`;
  if (!secure && why === 'Failed to connect')
    return 'Failed to connect (this channel is plaintext: a server with mTLS refuses it; give the client an identity)';
  return why;
}

async function unaryCall<Req, Res>(
  ctx: Context,
  url: string,
  dialed: Dialed,
  rpc: Rpc<Req, Res>,
  req: Req,
): Promise<Res> {
  if (ctx.signal.aborted) throw NsmError.from(ctx.signal.reason, Code.CANCELLED);
  await ready(ctx, dialed, url);
  const { md, opts } = await callArgs(ctx, dialed);
  return new Promise<Res>((resolve, reject) => {
    const onAbort = (): void => call.cancel();
    const call = dialed.client.makeUnaryRequest(
      rpc.path,
      rpc.requestSerialize,
      rpc.responseDeserialize,
      req,
      md,
      opts,
      (err, res) => {
        ctx.signal.removeEventListener('abort', onAbort);
        if (err) reject(fromServiceError(err, url));
        else if (res === undefined)
          reject(new NsmError(Code.INTERNAL, `${url}: ${rpc.path} answered nothing`));
        else resolve(res);
      },
    );
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}

function streamCall<Req, Res>(
  ctx: Context,
  url: string,
  dialed: Dialed,
  rpc: Rpc<Req, Res>,
  req: Req,
): Observable<Res> {
  return new Observable<Res>((subscriber) => {
    let cancelled = false;
    let call: grpc.ClientReadableStream<Res> | undefined;
    const onAbort = (): void => subscriber.error(NsmError.from(ctx.signal.reason, Code.CANCELLED));
    ready(ctx, dialed, url)
      .then(() => callArgs(ctx, dialed))
      .then(
        ({ md, opts }) => {
          if (cancelled) return;
          call = dialed.client.makeServerStreamRequest(
            rpc.path,
            rpc.requestSerialize,
            rpc.responseDeserialize,
            req,
            md,
            opts,
          );
          call.on('data', (value: Res) => subscriber.next(value));
          call.on('error', (err: grpc.ServiceError) => {
            if (!cancelled) subscriber.error(fromServiceError(err, url));
          });
          call.on('end', () => subscriber.complete());
        },
        (err: unknown) => subscriber.error(err),
      );
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    return () => {
      ctx.signal.removeEventListener('abort', onAbort);
      cancelled = true;
      call?.cancel();
    };
  });
}

/** The methods of a registry service, as generated. */
interface RegistryService<T, Q, R> {
  readonly Register: Rpc<T, T>;
  readonly Find: Rpc<Q, R>;
  readonly Unregister: Rpc<T, unknown>;
}

function registryClient<T, Q, R>(
  url: string,
  dialed: Dialed,
  service: RegistryService<T, Q, R>,
): RegistryHandler<T, Q, R> {
  return {
    register: (ctx, rec) => unaryCall(ctx, url, dialed, service.Register, rec),
    find: (ctx, query) => streamCall(ctx, url, dialed, service.Find, query),
    unregister: async (ctx, rec) => {
      await unaryCall(ctx, url, dialed, service.Unregister, rec);
    },
  };
}

/** grpc.health.v1 Check; the health package ships its definition untyped, so the answer is checked. */
function healthRpc(): Rpc<{ service: string }, { status: string }> | undefined {
  const check = healthService['Check'];
  if (!check) return undefined;
  return {
    path: check.path,
    requestSerialize: (value) => check.requestSerialize(value),
    responseDeserialize: (bytes) => {
      const decoded: unknown = check.responseDeserialize(bytes);
      const status =
        typeof decoded === 'object' && decoded !== null && 'status' in decoded ? decoded.status : '';
      return { status: typeof status === 'string' ? status : 'UNKNOWN' };
    },
  };
}
const healthCheck = healthRpc();

/** Options for `dial`. */
export interface DialOptions {
  /** Largest accepted response in bytes (default 4 MiB). */
  maxReceiveBytes?: number;
  /** How long a call waits for the connection to the server to become ready (default 1 s). */
  dialTimeoutMs?: number;
  /**
   * Dial with mTLS as this identity: the server's certificate must lead to its trust bundle and carry a
   * SPIFFE ID of its trust domain (and pass `expectPeer`). Without it the channel is plaintext.
   */
  identity?: Identity;
  /** Further checks of the server's SPIFFE ID (e.g. "a manager of this node"). */
  expectPeer?: PeerCheck;
  /** Sign a token for every call (`nsm-client-token`), `aud` = the server's SPIFFE ID. */
  tokens?: TokenGenerator;
}

/** Creates clients for every mesh service at `url` over one channel. Usage: `const c = dial('tcp://10.0.0.1:5001')`. */
export function dial(url: string, options: DialOptions = {}): MeshClient {
  const p = protos();
  const target = grpcTarget(url);
  const dialTimeoutMs = options.dialTimeoutMs ?? 1000;
  const server: Dialed['server'] = {};
  const creds = options.identity
    ? channelCredentials(options.identity, (peer) => (server.peer = peer), options.expectPeer)
    : grpc.credentials.createInsecure();
  const channelOptions: grpc.ChannelOptions = {
    ...(options.identity ? TLS_CHANNEL_OPTIONS : {}),
    'grpc.max_receive_message_length': options.maxReceiveBytes ?? 4 * 1024 * 1024,
    // Reconnect quickly after a hop restarts: heal time is bounded by this backoff.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
    // The mesh retries and heals itself; grpc-js's transparent retry of a call refused by a restarting
    // server can hang once the channel is ready again (seen with registry restarts), so fail instead.
    'grpc.enable_retries': 0,
    // Each channel its own connection: grpc-js otherwise shares one between equal channels of a process, and
    // closing one (an endpoint shutting down beside a client) broke the others' calls in flight.
    'grpc.use_local_subchannel_pool': 1,
  };
  // One channel for every service: calls go by the generated method definitions.
  const client = new grpc.Client(target, creds, channelOptions);
  const dialed: Dialed = {
    client,
    dialTimeoutMs,
    server,
    secure: options.identity !== undefined,
    ...(options.tokens ? { tokens: options.tokens } : {}),
  };
  const ns = p.networkservice.NetworkService.service;
  return {
    url,
    networkService: {
      request: (ctx, req) => unaryCall(ctx, url, dialed, ns.Request, req),
      close: async (ctx, conn) => {
        await unaryCall(ctx, url, dialed, ns.Close, conn);
      },
    },
    monitor: (ctx, selector) =>
      streamCall(ctx, url, dialed, p.connection.MonitorConnection.service.MonitorConnections, selector),
    endpointRegistry: registryClient(url, dialed, p.registry.NetworkServiceEndpointRegistry.service),
    serviceRegistry: registryClient(url, dialed, p.registry.NetworkServiceRegistry.service),
    health: async (ctx, service = '') => {
      if (!healthCheck) throw new NsmError(Code.INTERNAL, 'grpc-health-check lacks the Check method');
      return (await unaryCall(ctx, url, dialed, healthCheck, { service })).status;
    },
    close: () => client.close(),
  };
}

/** Where elements get the client of a next hop: by URL. `ClientPool` is the one the products use. */
export interface MeshClients {
  get(url: string): MeshClient;
}

/** Caches one MeshClient per URL; `close()` closes them all. */
export class ClientPool implements MeshClients {
  private readonly clients = new Map<string, MeshClient>();

  constructor(private readonly options: DialOptions = {}) {}

  /** The client for `url`, dialled on first use. */
  get(url: string): MeshClient {
    let client = this.clients.get(url);
    if (!client) {
      client = dial(url, this.options);
      this.clients.set(url, client);
    }
    return client;
  }

  /** Closes every client. */
  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

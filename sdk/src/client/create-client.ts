/**
 * The client SDK for CNFs: ask the local manager for a network service, keep the connection refreshed
 * and healed, close it, watch it.
 */
import { randomUUID } from 'node:crypto';
import type { Observable } from 'rxjs';
import { clone, newMechanism, newRequest } from '../api/builders.js';
import type { Connection, ConnectionEvent, Mechanism } from '../api/types.js';
import type { Tracer } from '@opentelemetry/api';
import { createClientChain } from '../chains/client.js';
import { element, toHandler, type NetworkServiceElement } from '../core/chain.js';
import { ConnectionClosedError } from '../networkservice/common/begin/begin.js';
import { realClock, type Clock } from '../core/clock.js';
import { createContext, withTimeout, type Context } from '../core/context.js';
import { invalidArgument } from '../core/errors.js';
import { type TapOptions, withTap } from '../networkservice/common/mechanisms/kernel-tap.js';
import { silentLogger, type Logger } from '../core/log.js';
import { ClientPool } from '../grpc/client.js';
import { closeHubs } from '../networkservice/common/monitor/monitor-hub.js';
import type { ClientInfo } from '../networkservice/common/clientinfo/clientinfo.js';
import type { DataPlaneMonitor, HealEvent, LivenessCheck } from '../networkservice/common/heal/heal.js';
import type { Identity } from '../security/identity.js';
import { securityOf } from '../security/setup.js';

/** Options for `createClient`. */
export interface ClientOptions {
  /** This client's name in paths and tokens (default: POD_NAME, else `nsc-<random>`). */
  name?: string;
  /** The node's manager (default: NSM_CONNECT_TO, else the default manager socket). */
  managerUrl?: string;
  log?: Logger;
  clock?: Clock;
  /** Token lifetime (default 10 minutes); refreshes happen well before it ends. */
  tokenLifetimeMs?: number;
  /**
   * This client's X.509-SVID (e.g. `await fileIdentity({ dir })` with files from `nsm identity`): it
   * dials its manager with mTLS and signs its tokens with it. Without one it dials in plaintext, which
   * only a manager in insecure mode accepts.
   */
  identity?: Identity;
  /** Data-plane check used by heal to choose between repairing the same path and reselecting. */
  livenessCheck?: LivenessCheck;
  /** Continuous data-plane watch: when traffic stops passing, the client reselects. */
  dataPlane?: DataPlaneMonitor;
  /** nodeName, podName and clusterName added to the connection labels (defaults from the environment). */
  info?: Partial<ClientInfo>;
  /** Extra client elements, run just before the call to the manager. */
  extra?: NetworkServiceElement[];
  dialTimeoutMs?: number;
  /** Pause between failed heal attempts (default 200 ms). */
  healRetryMs?: number;
  /**
   * Told of every change of this client's connections: `up` whenever the mesh answers a request
   * (the first one, each refresh, each heal), then heal's `lost`, `failed` and `healed`.
   */
  onEvent?: (event: ClientEvent) => void;
  /**
   * Trace each request and close (each refresh and heal too) with this tracer: its span is the root
   * of a trace that every hop continues (`startTracing(...).tracer` from `@nsm-ts/sdk/tracing`).
   */
  tracer?: Tracer;
}

/** A change of one of the client's connections (see `ClientOptions.onEvent`). */
export type ClientEvent = HealEvent | { type: 'up'; conn: Connection };

/** What to ask for. */
export interface RequestOptions {
  networkService: string;
  labels?: Record<string, string>;
  /** Mechanism preferences in order, by type or in full (default `['KERNEL']`). */
  mechanisms?: (string | Mechanism)[];
  /** The interface name in this pod (KERNEL/MEMIF; default generated from the service name). */
  interfaceName?: string;
  /**
   * Ask for a tap under `interfaceName` instead of an addressed interface, for a VM in this pod
   * (`true`, or how to make it). The connection's IP context is then the guest's to configure.
   * Applies to the KERNEL preference, which `mechanisms` must then hold.
   */
  tap?: boolean | TapOptions;
  /** Time allowed for the request (default 15 s). */
  timeoutMs?: number;
  /**
   * A connection an earlier process of this pod held (an init container's, or this process before
   * a restart): it is requested again under its id and path, so the mesh refreshes it and its
   * interface stays, with this process's namespace in its mechanism. A heal later reselects with the
   * mechanisms given here, as for any request.
   */
  resume?: Connection;
}

/** A client of the mesh. */
export interface MeshClientHandle {
  readonly name: string;
  request(options: RequestOptions): Promise<Connection>;
  /** Re-requests an existing connection now (normally the refresh timer does this). */
  refresh(conn: Connection): Promise<Connection>;
  close(conn: Connection): Promise<void>;
  /** Events of this client's connections as the manager reports them. */
  monitor(conn: Connection): Observable<ConnectionEvent>;
  /** The connection as it is now (after refreshes and heals), or undefined once closed. */
  current(id: string): Connection | undefined;
  /** Closes every connection and the client itself. */
  shutdown(): Promise<void>;
  /**
   * Stops refreshing and healing without closing anything: every hop times the connections out when
   * their tokens expire. For a process about to exit that must not tear its connections down.
   */
  abandon(): void;
}

/** The mechanism for one preference entry; KERNEL and MEMIF get this process's namespace. */
export function toMechanism(entry: string | Mechanism, interfaceName?: string): Mechanism {
  if (typeof entry !== 'string') return entry;
  const type = entry.toUpperCase();
  const params: Record<string, string> = {};
  if (type === 'KERNEL' || type === 'MEMIF') {
    params['inodeURL'] = `file:///proc/${process.pid}/ns/net`;
    if (interfaceName) params['name'] = interfaceName;
  }
  if (!/^[A-Z0-9_]+$/.test(type))
    throw invalidArgument(`bad mechanism "${entry}": expected a type such as KERNEL, MEMIF or NOOP`);
  return newMechanism(type, 'LOCAL', params);
}

/** The preferences for `req`: each entry made a mechanism, the KERNEL one asking for a tap when asked. */
export function requestMechanisms(
  req: Pick<RequestOptions, 'mechanisms' | 'interfaceName' | 'tap'>,
): Mechanism[] {
  const prefs = (req.mechanisms ?? ['KERNEL']).map((m) => toMechanism(m, req.interfaceName));
  if (!req.tap) return prefs;
  if (!prefs.some((m) => m.type === 'KERNEL'))
    throw invalidArgument(
      'a tap is asked for, but the mechanisms hold no KERNEL; expected KERNEL among them',
    );
  const options = req.tap === true ? {} : req.tap;
  return prefs.map((m) => (m.type === 'KERNEL' ? withTap(m, options) : m));
}

/** `conn` with its mechanism's namespace (and name) from this process's preference of the same type. */
function resumed(conn: Connection, prefs: Mechanism[]): Connection {
  const mine = prefs.find((m) => m.type === conn.mechanism?.type);
  if (!conn.mechanism || !mine) return clone(conn);
  return {
    ...clone(conn),
    mechanism: { ...clone(conn.mechanism), parameters: { ...conn.mechanism.parameters, ...mine.parameters } },
  };
}

/** Usage: `const c = createClient(); const conn = await c.request({ networkService: 'db', labels: { app: 'web' } })`. */
export function createClient(options: ClientOptions = {}): MeshClientHandle {
  const name = options.name ?? process.env['POD_NAME'] ?? `nsc-${randomUUID().slice(0, 8)}`;
  const managerUrl =
    options.managerUrl ?? process.env['NSM_CONNECT_TO'] ?? 'unix:///var/lib/networkservicemesh/nsm.io.sock';
  const log = options.log ?? silentLogger;
  const clock = options.clock ?? realClock;
  const security = securityOf(options.identity, {
    name,
    tokenLifetimeMs: options.tokenLifetimeMs ?? 10 * 60_000,
  });
  const pool = new ClientPool({
    dialTimeoutMs: options.dialTimeoutMs ?? 1000,
    tokens: security.tokens,
    ...(options.identity ? { identity: options.identity } : {}),
  });
  let abandoned = false;
  // Refresh and heal events pass here too: once abandoned they end as if the connection were closed.
  const guard = element({
    request: (ctx, req, next) =>
      abandoned
        ? Promise.reject(new ConnectionClosedError(req.connection?.id ?? ''))
        : next.request(ctx, req),
    close: (ctx, conn, next) => (abandoned ? Promise.resolve() : next.close(ctx, conn)),
  });
  const open = new Map<string, Connection>();
  // Heal and refresh answer inside the chain: keep the client's own view of each connection current.
  const track = element({
    async request(ctx, req, next) {
      const conn = await next.request(ctx, req);
      if (open.has(conn.id)) open.set(conn.id, conn);
      options.onEvent?.({ type: 'up', conn });
      return conn;
    },
  });
  const handler = toHandler([
    createClientChain({
      name,
      managerUrl,
      pool,
      ...(options.livenessCheck ? { livenessCheck: options.livenessCheck } : {}),
      ...(options.dataPlane ? { dataPlane: options.dataPlane } : {}),
      ...(options.info ? { info: options.info } : {}),
      extra: [guard, track, ...(options.extra ?? [])],
      ...(options.healRetryMs ? { healRetryMs: options.healRetryMs } : {}),
      ...(options.onEvent ? { onHealEvent: options.onEvent } : {}),
      ...(options.tracer ? { tracer: options.tracer } : {}),
    }),
  ]);
  const root: Context = createContext({ log: log.child({ client: name }), clock });
  const call = async <T>(ms: number, fn: (ctx: Context) => Promise<T>): Promise<T> => {
    const { ctx, cancel } = withTimeout(root, ms);
    try {
      return await fn(ctx);
    } finally {
      cancel();
    }
  };

  return {
    name,
    request: (req) =>
      call(req.timeoutMs ?? 15_000, async (ctx) => {
        const prefs = requestMechanisms(req);
        const request = req.resume
          ? newRequest(resumed(req.resume, prefs), prefs)
          : newRequest(
              { id: randomUUID(), network_service: req.networkService, labels: { ...req.labels } },
              prefs,
            );
        const conn = await handler.request(ctx, request);
        open.set(conn.id, conn);
        return conn;
      }),
    refresh: (conn) =>
      call(15_000, async (ctx) => {
        const fresh = await handler.request(ctx, newRequest(conn));
        open.set(fresh.id, fresh);
        return fresh;
      }),
    close: (conn) =>
      call(15_000, async (ctx) => {
        open.delete(conn.id);
        await handler.close(ctx, conn);
      }),
    current: (id) => open.get(id),
    monitor: (conn) => {
      const managerSegment = conn.path?.path_segments[(conn.path.index ?? 0) + 1];
      const selector = { path_segments: managerSegment ? [managerSegment] : [], network_services: [] };
      return pool.get(managerUrl).monitor(root, selector);
    },
    async shutdown() {
      const all = [...open.values()];
      open.clear();
      await Promise.allSettled(all.map((conn) => call(5_000, (ctx) => handler.close(ctx, conn))));
      abandoned = true;
      closeHubs(pool);
      pool.close();
    },
    abandon() {
      abandoned = true;
      open.clear();
      closeHubs(pool);
      pool.close();
    },
  };
}

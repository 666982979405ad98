/**
 * The endpoint SDK for CNFs: serve a network service, register it through the node's manager (kept
 * registered), hand out point-to-point addresses from a prefix, and optionally continue every
 * connection to a next service (a passthrough element of a service chain).
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newEndpoint } from '../api/builders.js';
import type { Connection, Mechanism, MonitorScopeSelector, NetworkServiceEndpoint } from '../api/types.js';
import type { Tracer } from '@opentelemetry/api';
import { createClientChain } from '../chains/client.js';
import { chainTracing } from '../tracing/chain.js';
import { createEndpointChain } from '../chains/endpoint.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { realClock, type Clock } from '../core/clock.js';
import { createContext } from '../core/context.js';
import { silentLogger, type Logger } from '../core/log.js';
import { ClientPool } from '../grpc/client.js';
import { closeHubs } from '../networkservice/common/monitor/monitor-hub.js';
import { createServer } from '../grpc/server.js';
import { passthrough as passthroughElement } from '../networkservice/common/passthrough/passthrough.js';
import { createRegistryClient } from '../registry/client/client.js';
import type { Identity } from '../security/identity.js';
import { securityOf } from '../security/setup.js';
import { scopedMonitor } from '../networkservice/common/monitor/scope.js';
import { toMechanism } from '../client/create-client.js';
import { kernelEndpoint } from './kernel-endpoint.js';

/** Options for `createEndpoint`. */
export interface EndpointOptions {
  /** Registry name of this endpoint (default: NSM_NAME, else `nse-<random>`). */
  name?: string;
  /** Network services it provides. */
  serviceNames: string[];
  /** Its labels, registered for every service (e.g. `{ app: 'mme' }`). */
  labels?: Record<string, string>;
  /**
   * Address pools for point-to-point IPAM, e.g. `10.60.1.0/24` (none: no addresses assigned). A prefix
   * `poolPrefixProblem` refuses (single address, loopback, multicast, link-local, default route ...)
   * makes `createEndpoint` reject with INVALID_ARGUMENT before it listens or registers.
   */
  cidrPrefix?: string | string[];
  /** The node's manager (default: NSM_CONNECT_TO, else the default manager socket). */
  managerUrl?: string;
  /** Where to serve (default: a unix socket in the temp directory). */
  listenOn?: string;
  /** Mechanism elements accepted, by type (default KERNEL and NOOP). */
  mechanisms?: Record<string, NetworkServiceElement>;
  /** The endpoint's own function, run after IPAM. */
  elements?: NetworkServiceElement[];
  /**
   * Continue each connection to a next service as a passthrough element: its service (default the
   * same), its labels (default this endpoint's), and mechanisms by type or per connection.
   */
  passthrough?: {
    networkService?: string;
    labels?: Record<string, string>;
    mechanisms?: string[] | ((conn: Connection) => Mechanism[]);
  };
  log?: Logger;
  clock?: Clock;
  tokenLifetimeMs?: number;
  dialTimeoutMs?: number;
  /**
   * This endpoint's X.509-SVID: it serves and dials with mTLS and signs its tokens with it. Without one
   * it runs in plaintext, which only a mesh in insecure mode accepts.
   */
  identity?: Identity;
  /**
   * Enforce the token policies on the calls it serves (needs `identity`). The SDK's default is allow-all,
   * so an endpoint is easy to start with; the managers and forwarders in front of it check every hop.
   */
  authorize?: boolean;
  /**
   * Trace each request and close it serves with this tracer (a child of the caller's span), and a
   * passthrough's onward requests under it (`startTracing(...).tracer` from `@nsm-ts/sdk/tracing`).
   */
  tracer?: Tracer;
}

/** A running endpoint. */
export interface Endpoint {
  readonly name: string;
  readonly url: string;
  /** Its registration as the registry stored it. */
  readonly registration: NetworkServiceEndpoint;
  /** Connections it currently serves. */
  connections(): Connection[];
  /**
   * Stops serving. By default it unregisters first; `{ unregister: false }` keeps the registration
   * (until it expires), for a restart that should come back under the same name.
   */
  close(options?: { unregister?: boolean }): Promise<void>;
}

/**
 * Usage:
 * `const nse = await createEndpoint({ serviceNames: ['4g-network'], labels: { app: 'mme' }, cidrPrefix: '10.60.1.0/24' })`.
 */
export async function createEndpoint(options: EndpointOptions): Promise<Endpoint> {
  const name = options.name ?? process.env['NSM_NAME'] ?? `nse-${randomUUID().slice(0, 8)}`;
  const managerUrl =
    options.managerUrl ?? process.env['NSM_CONNECT_TO'] ?? 'unix:///var/lib/networkservicemesh/nsm.io.sock';
  const log = (options.log ?? silentLogger).child({ endpoint: name });
  const clock = options.clock ?? realClock;
  const security = securityOf(options.identity, {
    name,
    tokenLifetimeMs: options.tokenLifetimeMs ?? 10 * 60_000,
    authorize: options.authorize ?? false,
  });
  const tokens = security.tokens;
  const pool = new ClientPool({
    dialTimeoutMs: options.dialTimeoutMs ?? 1000,
    tokens,
    ...(options.identity ? { identity: options.identity } : {}),
  });
  const labels = { ...options.labels };
  const prefixes = options.cidrPrefix === undefined ? [] : [options.cidrPrefix].flat();
  let passthrough: NetworkServiceElement | undefined;
  if (options.passthrough) {
    const wanted = options.passthrough.mechanisms ?? ['KERNEL'];
    const prefs = typeof wanted === 'function' ? wanted : wanted.map((m) => toMechanism(m));
    passthrough = createClientChain({
      name,
      managerUrl,
      pool,
      ...(options.tracer ? { tracer: options.tracer } : {}),
      extra: [
        passthroughElement({
          labels: options.passthrough.labels ?? labels,
          ...(options.passthrough.networkService
            ? { networkService: options.passthrough.networkService }
            : {}),
          preferences: prefs,
        }),
      ],
    });
  }
  const { handler, monitor } = createEndpointChain({
    name,
    tokens,
    ...(security.authorization ? { authorization: security.authorization } : {}),
    mechanisms: options.mechanisms ?? { KERNEL: kernelEndpoint(), NOOP: element({}) },
    cidrPrefixes: prefixes,
    ...(options.elements ? { elements: options.elements } : {}),
    ...(passthrough ? { passthrough } : {}),
    ...(options.tracer ? { tracing: chainTracing(options.tracer, name) } : {}),
  });
  const server = createServer({ log, clock, ...(options.identity ? { identity: options.identity } : {}) });
  server.serveNetworkService(handler);
  const stream = (_ctx: unknown, selector: MonitorScopeSelector) => monitor.stream(selector);
  server.serveMonitor(
    security.authorization ? scopedMonitor(stream, { operator: (id) => security.operator(id) }) : stream,
  );
  const [url = ''] = await server.listen([
    options.listenOn ?? `unix://${join(tmpdir(), `nsm-${name}-${process.pid}.sock`)}`,
  ]);
  const ctx = createContext({ log, clock });
  const registry = createRegistryClient({ url: managerUrl, pool, name });
  let registration: NetworkServiceEndpoint;
  try {
    registration = await registry.register(
      ctx,
      newEndpoint({
        name,
        network_service_names: [...options.serviceNames],
        network_service_labels: Object.fromEntries(
          options.serviceNames.map((s) => [s, { labels: { ...labels } }]),
        ),
        url,
      }),
    );
  } catch (err) {
    await server.close();
    pool.close();
    throw err;
  }
  log.info({ url, services: options.serviceNames, labels }, 'endpoint registered');
  return {
    name,
    url,
    registration,
    connections: () => monitor.list(),
    async close(closeOptions = {}) {
      // Unregister first: the forwarders learn of the end from the monitor streams ending next, and
      // a heal that follows must no longer find this endpoint (it reselects at once).
      if (closeOptions.unregister ?? true) {
        await registry.close(ctx).catch((err: unknown) => log.warn({ err }, 'unregistering failed'));
      } else {
        await registry.close(ctx, { unregister: false });
      }
      const served = monitor.list();
      monitor.complete();
      await server.close();
      // A passthrough originated the path beyond it: close that part, or its next endpoint would keep
      // an interface for it until the tokens expire. (The part before it is its clients' to heal.)
      if (passthrough && closeOptions.unregister !== false) {
        const results = await Promise.allSettled(
          served.map((conn) =>
            handler.close(createContext({ log, clock, deadline: clock.now() + 5000 }), conn),
          ),
        );
        const failed = results.filter((r) => r.status === 'rejected').length;
        if (failed > 0) log.warn({ failed }, 'closing the onward connections of a passthrough failed');
      }
      closeHubs(pool);
      pool.close();
    },
  };
}

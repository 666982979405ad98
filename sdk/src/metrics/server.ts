/**
 * The metrics endpoint: a plain HTTP server on NSM_METRICS_ADDR answering `GET /metrics` with the
 * registry in Prometheus text format. Started only when the address is set.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { METRICS_ENV, MetricsAddressError, parseMetricsAddress } from './address.js';

/** A running metrics endpoint. */
export interface MetricsServer {
  /** `http://host:port/metrics`, with the port bound. */
  readonly url: string;
  close(): Promise<void>;
}

/** What the listen errors mean, in the words of the message. */
const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'the address is in use by another process',
  EADDRNOTAVAIL: 'the host is not an address of this machine',
  EACCES: 'not allowed to bind this port',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
};

function listen(server: Server, value: string, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const code = err.code ?? '';
      reject(new MetricsAddressError(value, `${LISTEN_PROBLEMS[code] ?? err.message} (${code || 'error'})`));
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Serves `registry` at `http://<addr>/metrics`; rejects with a MetricsAddressError naming
 * NSM_METRICS_ADDR when the address is bad or cannot be bound.
 * Usage: `const server = await startMetricsServer('127.0.0.1:9090', registry, log)`.
 */
export async function startMetricsServer(
  addr: string,
  registry: Registry,
  log: Logger,
): Promise<MetricsServer> {
  const { host, port } = parseMetricsAddress(addr);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('use GET\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        log.warn({ err }, 'collecting metrics failed');
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`collecting metrics failed: ${String(err)}\n`);
      },
    );
  });
  await listen(server, addr, host, port);
  const bound = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`;
  log.info({ url, env: METRICS_ENV }, 'metrics serving');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A daemon's metrics: the registry its parts register on, and its server. */
export interface DaemonMetrics {
  readonly registry: Registry;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The metrics of a daemon when `addr` (NSM_METRICS_ADDR) is set: a registry with the process's
 * default metrics (`process_*`, `nodejs_*`) and its server. Undefined when `addr` is '': no registry,
 * no server, nothing counted. Usage: `const metrics = await daemonMetrics(config.metricsAddr, log)`.
 */
export async function daemonMetrics(addr: string, log: Logger): Promise<DaemonMetrics | undefined> {
  if (!addr) return undefined;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const server = await startMetricsServer(addr, registry, log);
  return { registry, url: server.url, close: () => server.close() };
}

/**
 * The HTTP server of `nsm ui`: the page (static files), `/api/status` (one snapshot of the lab, the
 * JSON of `nsm status --json`) and `/events` (server-sent events: `status` with that JSON whenever
 * it changed, `down` while the lab is not up, `heartbeat` every few seconds).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { isIP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sseComment, sseFrame, sseRetry } from './sse.js';
import type { Reading, Snapshot, Watcher } from './watch.js';

/** What `down` events and a 503 from /api/status carry. */
export interface DownBody {
  lab: string;
  error: string;
}

export interface UiServerOptions<T> {
  /** The lab's name, for `down` events. */
  lab: string;
  watcher: Watcher<T>;
  /** Where index.html, style.css and the page's scripts are. */
  pageDir: string;
  host: string;
  /** 0: any free port. */
  port: number;
  /** The time between heartbeats on /events. */
  heartbeatMs?: number;
}

/** A listening server. */
export interface UiServer {
  /** `http://host:port/` as a browser on this machine opens it. */
  url: string;
  port: number;
  server: Server;
  /** Ends the event streams and stops listening. */
  close(): Promise<void>;
}

/** Why listening failed, in words that name the option and its value. */
export class ListenError extends Error {}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

/** Static files the page may load: one name, no directories, a known type. */
const STATIC = /^\/([a-z][a-z0-9-]*\.(?:html|css|js))$/;

/**
 * The host names a request may use, so that a page elsewhere cannot read the lab by DNS rebinding;
 * undefined (any) when listening on every address, where the name users type is not known.
 */
function allowedHosts(host: string): Set<string> | undefined {
  if (host === '0.0.0.0' || host === '::') return undefined;
  return new Set(['localhost', '127.0.0.1', '[::1]', isIP(host) === 6 ? `[${host}]` : host.toLowerCase()]);
}

/** The host name of a Host header (`[::1]:7070` → `[::1]`, `localhost:7070` → `localhost`). */
export function hostName(header: string | undefined): string {
  if (!header) return '';
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(header.trim().toLowerCase());
  return m?.[1] ?? '';
}

const securityHeaders = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  // Nothing from anywhere else: the page is its own files and the lab's data.
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
};

function send(res: ServerResponse, code: number, type: string, body: string | Buffer): void {
  res.writeHead(code, { 'content-type': type, ...securityHeaders });
  res.end(body);
}

function json(res: ServerResponse, code: number, value: unknown): void {
  send(res, code, 'application/json; charset=utf-8', JSON.stringify(value, null, 2) + '\n');
}

/** The SSE frame of a snapshot. */
export function snapshotFrame<T>(lab: string, snapshot: Snapshot<T>): string {
  return snapshot.ok
    ? sseFrame('status', JSON.stringify(snapshot.status), snapshot.seq)
    : sseFrame('down', JSON.stringify({ lab, error: snapshot.error } satisfies DownBody), snapshot.seq);
}

/** Starts the server; rejects with a ListenError when the host or port cannot be had. */
export async function startUiServer<T>(opts: UiServerOptions<T>): Promise<UiServer> {
  const hosts = allowedHosts(opts.host);
  const streams = new Set<ServerResponse>();
  const heartbeatMs = opts.heartbeatMs ?? 5000;

  const events = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      ...securityHeaders,
    });
    res.write(sseRetry(1000) + sseComment(`nsm ui, lab ${opts.lab}`));
    streams.add(res);
    const unsubscribe = opts.watcher.subscribe((snapshot) => res.write(snapshotFrame(opts.lab, snapshot)));
    const heartbeat = setInterval(() => {
      const seq = opts.watcher.latest?.seq ?? 0;
      res.write(sseFrame('heartbeat', JSON.stringify({ at: new Date().toISOString(), seq })));
    }, heartbeatMs);
    const done = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    };
    req.on('close', done);
    res.on('close', done);
  };

  const status = async (res: ServerResponse): Promise<void> => {
    let snapshot: Reading<T>;
    try {
      snapshot = await opts.watcher.next();
    } catch (err) {
      snapshot = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (snapshot.ok) json(res, 200, snapshot.status);
    else json(res, 503, { lab: opts.lab, error: snapshot.error } satisfies DownBody);
  };

  const page = async (res: ServerResponse, name: string): Promise<void> => {
    const ext = name.slice(name.lastIndexOf('.'));
    try {
      send(res, 200, TYPES[ext] ?? 'application/octet-stream', await readFile(join(opts.pageDir, name)));
    } catch {
      send(res, 404, 'text/plain; charset=utf-8', `not found: /${name}\n`);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (hosts && !hosts.has(hostName(req.headers.host))) {
      send(res, 403, 'text/plain; charset=utf-8', `host not allowed: ${req.headers.host ?? '(none)'}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', `method not allowed: ${req.method ?? ''}\n`);
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/events') return events(req, res);
    if (path === '/api/status') return status(res);
    if (path === '/') return page(res, 'index.html');
    const file = STATIC.exec(path)?.[1];
    if (file) return page(res, file);
    send(res, 404, 'text/plain; charset=utf-8', `not found: ${path}\n`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${String(err)}\n`);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `${opts.host}:${opts.port}`;
      reject(
        new ListenError(
          err.code === 'EADDRINUSE'
            ? `--port ${opts.port}: ${where} is already in use; choose another port, or --port 0 for a free one`
            : err.code === 'EACCES'
              ? `--port ${opts.port}: not allowed to listen on ${where} (${err.code})`
              : `--host ${opts.host}: cannot listen on ${where}: ${err.code ?? err.message}`,
        ),
      );
    };
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = isIP(opts.host) === 6 ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${urlHost}:${port}/`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of streams) res.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

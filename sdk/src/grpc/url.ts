/** The URLs the mesh uses for its endpoints: `unix:///abs/path.sock` and `tcp://host:port`. */
import { invalidArgument } from '../core/errors.js';

/** A parsed mesh URL. */
export type MeshUrl = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Parses and checks a mesh URL; the error names the URL and the accepted forms. */
export function parseUrl(url: string): MeshUrl {
  const expected = 'expected unix:///absolute/path.sock or tcp://host:port';
  if (url.startsWith('unix://')) {
    const path = url.slice('unix://'.length);
    if (!path.startsWith('/'))
      throw invalidArgument(`bad URL "${url}": unix socket path must be absolute; ${expected}`);
    return { kind: 'unix', path };
  }
  if (url.startsWith('tcp://')) {
    const rest = url.slice('tcp://'.length);
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(rest);
    const port = Number(match?.[2]);
    if (!match?.[1] || !(port >= 0 && port <= 65535)) throw invalidArgument(`bad URL "${url}": ${expected}`);
    return { kind: 'tcp', host: match[1], port };
  }
  throw invalidArgument(`bad URL "${url}": ${expected}`);
}

/** The gRPC target for a mesh URL. */
export function grpcTarget(url: string): string {
  const parsed = parseUrl(url);
  return parsed.kind === 'unix' ? `unix://${parsed.path}` : `${parsed.host}:${parsed.port}`;
}

/** Formats a mesh URL. */
export function formatUrl(url: MeshUrl): string {
  return url.kind === 'unix' ? `unix://${url.path}` : `tcp://${url.host}:${url.port}`;
}

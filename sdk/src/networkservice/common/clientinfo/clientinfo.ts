/**
 * clientInfo: the originating client tells the mesh where it runs. It adds `nodeName`, `podName` and
 * `clusterName` to the connection labels so that selectors such as
 * `destination_selector: { nodeName: "{{.nodeName}}" }` ("an endpoint on my node") can use them.
 */
import type { NetworkServiceElement } from '../../../core/chain.js';
import { element } from '../../../core/chain.js';

/** Where the client runs. */
export interface ClientInfo {
  nodeName: string;
  podName: string;
  clusterName: string;
}

/** The client info from the environment (`NODE_NAME`, `POD_NAME`, `CLUSTER_NAME`); unset ones are empty. */
export function clientInfoFromEnv(env: NodeJS.ProcessEnv = process.env): ClientInfo {
  return {
    nodeName: env['NODE_NAME']?.trim() ?? '',
    podName: env['POD_NAME']?.trim() ?? '',
    clusterName: env['CLUSTER_NAME']?.trim() ?? '',
  };
}

/**
 * The client element. Each of `info` (when empty or absent) defaults to its environment variable; a label is added only when
 * its value is known and the client did not set that label itself (the client's own value wins).
 * Usage: `chain(updatePath(name), begin(), clientInfo({ nodeName: 'node-1' }), ...)`.
 */
export function clientInfo(
  info: Partial<ClientInfo> = {},
  env: NodeJS.ProcessEnv = process.env,
): NetworkServiceElement {
  const fromEnv = clientInfoFromEnv(env);
  const known = (Object.keys(fromEnv) as (keyof ClientInfo)[])
    .map((key) => [key, info[key] || fromEnv[key]] as const)
    .filter(([, value]) => value);
  return element({
    request(ctx, req, next) {
      const conn = req.connection;
      if (!conn) return next.request(ctx, req);
      const missing = known.filter(([key]) => !Object.hasOwn(conn.labels, key));
      if (missing.length === 0) return next.request(ctx, req);
      const labels = { ...conn.labels, ...Object.fromEntries(missing) };
      return next.request(ctx, { ...req, connection: { ...conn, labels } });
    },
  });
}

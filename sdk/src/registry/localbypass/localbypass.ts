/**
 * localbypass (manager): a local NSE is registered upstream with the manager's URL, so that remote
 * managers reach it through this node; when this node's own forwarder looks it up, the manager's
 * URL is rewritten back to the NSE's real (unix socket) URL and the forwarder dials it directly.
 */
import { filter, map } from 'rxjs';
import { invalidArgument } from '../../core/errors.js';
import type { NseElement } from '../../core/registry-chain.js';
import { parseUrl } from '../../grpc/url.js';

/** Options for `localBypass`. */
export interface LocalBypassOptions {
  /** The URL remote peers use to reach this manager, e.g. `tcp://10.0.0.1:5001`. */
  managerUrl: string;
}

/** The element with a view of the local NSEs it knows (name → real URL), for diagnostics. */
export type LocalBypassElement = NseElement & { readonly local: ReadonlyMap<string, string> };

/**
 * Rewrites local NSE URLs on the way up and back. A record that names this manager but is not a
 * local NSE any more (left over from before a restart) is dropped from Find: dialling it would loop.
 * Usage: `toRegistryHandler([nodeLabels({ nodeName }), localBypass({ managerUrl }), upstream])`.
 */
export function localBypass(options: LocalBypassOptions): LocalBypassElement {
  const { managerUrl } = options;
  const local = new Map<string, string>();
  return {
    local,
    async register(ctx, nse, next) {
      // As upstream: a local NSE is reached at its URL, so one without (or with an unusable one) is refused.
      if (!nse.url)
        throw invalidArgument(
          `cannot register NSE "${nse.name}" with an empty URL: expected the unix:// or tcp:// URL it serves on`,
        );
      try {
        parseUrl(nse.url);
      } catch (err) {
        throw invalidArgument(
          `cannot register NSE "${nse.name}" with URL "${nse.url}": ${(err as Error).message}`,
        );
      }
      // Known before the registry answers: its watchers hear of the record before we do.
      const previous = local.get(nse.name);
      if (nse.name) local.set(nse.name, nse.url);
      try {
        const result = await next.register(ctx, { ...nse, url: managerUrl });
        local.set(result.name, nse.url);
        return { ...result, url: nse.url };
      } catch (err) {
        if (nse.name && previous === undefined) local.delete(nse.name);
        throw err;
      }
    },
    find(ctx, query, next) {
      return next.find(ctx, query).pipe(
        map((response) => {
          const nse = response.network_service_endpoint;
          const url = nse && nse.url === managerUrl ? local.get(nse.name) : undefined;
          return url === undefined || !nse
            ? response
            : { ...response, network_service_endpoint: { ...nse, url } };
        }),
        filter((response) => response.deleted || response.network_service_endpoint?.url !== managerUrl),
      );
    },
    async unregister(ctx, nse, next) {
      await next.unregister(ctx, { ...nse, url: managerUrl });
      local.delete(nse.name);
    },
  };
}

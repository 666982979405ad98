/**
 * One-shot registry lookups for selection: a plain (non-watch) Find collected into a list, with the
 * substring matching of upstream registries narrowed to exact names here.
 */
import { lastValueFrom, toArray } from 'rxjs';
import { fromTimestamp, newEndpoint } from '../../../api/builders.js';
import type { NetworkService, NetworkServiceEndpoint } from '../../../api/types.js';
import type { Context } from '../../../core/context.js';
import { NsmError, Code } from '../../../core/errors.js';
import type { NsHandler, NseHandler } from '../../../core/registry-chain.js';

function lookupFailed(err: unknown, what: string): NsmError {
  const cause = NsmError.from(err, Code.UNAVAILABLE);
  return new NsmError(cause.code, `registry lookup of ${what} failed: ${cause.message}`, { cause: err });
}

/**
 * The NetworkService named `name`, or `undefined` when the registry has none.
 * Usage: `const svc = await findNetworkService(ctx, nsRegistry, conn.network_service)`.
 */
export async function findNetworkService(
  ctx: Context,
  ns: NsHandler,
  name: string,
): Promise<NetworkService | undefined> {
  const query = { network_service: { name, payload: '', matches: [], path_ids: [] }, watch: false };
  try {
    const responses = await lastValueFrom(ns.find(ctx, query).pipe(toArray()));
    return (
      responses.find((r) => !r.deleted && r.network_service?.name === name)?.network_service ?? undefined
    );
  } catch (err) {
    throw lookupFailed(err, `network service "${name}"`);
  }
}

/**
 * Endpoints matching `filter` (as a registry query), narrowed to an exact `name` and to endpoints that
 * list every service of `network_service_names`. Usage: `await findEndpoints(ctx, nse, { name })`.
 */
export async function findEndpoints(
  ctx: Context,
  nse: NseHandler,
  filter: { name?: string; network_service_names?: string[] },
): Promise<NetworkServiceEndpoint[]> {
  const query = { network_service_endpoint: newEndpoint(filter), watch: false };
  const what = filter.name
    ? `endpoint "${filter.name}"`
    : `endpoints of ${JSON.stringify(filter.network_service_names)}`;
  let responses;
  try {
    responses = await lastValueFrom(nse.find(ctx, query).pipe(toArray()));
  } catch (err) {
    throw lookupFailed(err, what);
  }
  const services = filter.network_service_names ?? [];
  return responses
    .filter((r) => !r.deleted)
    .flatMap((r) => (r.network_service_endpoint ? [r.network_service_endpoint] : []))
    .filter(
      (e) =>
        (!filter.name || e.name === filter.name) &&
        services.every((s) => e.network_service_names.includes(s)),
    );
}

/**
 * Whether the registration of `nse` ran out before `now` (one without an expiration time never does).
 * Usage: `nses.filter((e) => !isExpired(e, ctx.clock.now()))`.
 */
export function isExpired(nse: NetworkServiceEndpoint, now: number): boolean {
  const expires = fromTimestamp(nse.expiration_time);
  return expires !== undefined && expires < now;
}

/**
 * discoverCandidates: the forwarder's first selection step. It finds the endpoints that may serve a
 * request — the one the connection names, or those the service's matches pick for the connection's
 * labels — and hands them to the next element (`roundRobin`) in the context.
 */
import type { Connection, NetworkServiceRequest } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import type { Context } from '../../../core/context.js';
import { Code, NsmError, invalidArgument } from '../../../core/errors.js';
import type { NsHandler, NseHandler } from '../../../core/registry-chain.js';
import { withCandidates, type Candidates } from './candidates.js';
import { matchEndpoints, noEndpointMessage } from './match.js';
import { findEndpoints, findNetworkService, isExpired } from './registry-lookup.js';
import { waitBudget, waitForCandidates } from './wait.js';

/** Registries to discover from. */
export interface DiscoverOptions {
  nse: NseHandler;
  ns: NsHandler;
  /**
   * How long a request that no registered endpoint matches waits for one to register (watching the
   * registry), within its deadline; 0 (the default) answers NOT_FOUND at once.
   */
  waitMs?: number;
}

/** The endpoint the connection names: sticky, the only candidate. */
async function named(ctx: Context, options: DiscoverOptions, conn: Connection): Promise<Candidates> {
  const name = conn.network_service_endpoint_name;
  const found = await findEndpoints(ctx, options.nse, { name });
  const nse = found.find((e) => !isExpired(e, ctx.clock.now()));
  if (!nse) {
    const why = found.length > 0 ? 'its registration expired' : 'it is not registered';
    throw new NsmError(
      Code.NOT_FOUND,
      `network service endpoint "${name}" requested for network service "${conn.network_service}" is not found: ${why}`,
    );
  }
  // The service only matters here for its payload; do not fail a refresh because it was edited away.
  const networkService = conn.payload
    ? undefined
    : await findNetworkService(ctx, options.ns, conn.network_service);
  return { networkService, endpoints: [{ nse, weight: 1 }] };
}

/** The endpoints the service's matches pick for the connection's labels. */
async function matching(ctx: Context, options: DiscoverOptions, conn: Connection): Promise<Candidates> {
  const service = conn.network_service;
  const ns = await findNetworkService(ctx, options.ns, service);
  if (!ns) throw new NsmError(Code.NOT_FOUND, `network service "${service}" is not found`);
  const all = await findEndpoints(ctx, options.nse, { network_service_names: [service] });
  const now = ctx.clock.now();
  const live = all.filter((e) => !isExpired(e, now));
  let result = matchEndpoints(ns, live, conn.labels);
  if (result.candidates.length === 0) {
    const budget = waitBudget(ctx, options.waitMs ?? 0);
    const appeared =
      budget > 0 ? await waitForCandidates(ctx, options.nse, ns, conn.labels, budget) : undefined;
    if (!appeared)
      throw new NsmError(
        Code.NOT_FOUND,
        noEndpointMessage(ns, live, conn.labels, result, all.length - live.length) +
          (budget > 0 ? ` (waited ${Math.round(budget)} ms for one to register)` : ''),
      );
    ctx.log.debug({ connId: conn.id, service, waitedFor: budget }, 'an endpoint registered while waiting');
    result = appeared.result;
  }
  ctx.log.debug(
    { connId: conn.id, service, candidates: result.candidates.map((c) => c.nse.name) },
    'endpoint candidates discovered',
  );
  return { networkService: ns, endpoints: result.candidates };
}

/**
 * The server element; put `roundRobin()` after it. Errors: NOT_FOUND naming the missing service or
 * endpoint, or the service, labels and selectors when nothing matches; INVALID_ARGUMENT for a
 * malformed selector template. Fills the connection's payload from the service when it is empty.
 * Usage: `chain(..., discoverCandidates({ nse, ns }), roundRobin(), connect({ pool }))`.
 */
export function discoverCandidates(options: DiscoverOptions): NetworkServiceElement {
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      if (!conn)
        throw invalidArgument(
          'request without connection: discoverCandidates needs connection.network_service',
        );
      const found = conn.network_service_endpoint_name
        ? await named(ctx, options, conn)
        : await matching(ctx, options, conn);
      let out: NetworkServiceRequest = req;
      const payload = found.networkService?.payload;
      if (payload && !conn.payload) out = { ...req, connection: { ...conn, payload } };
      return next.request(withCandidates(ctx, found), out);
    },
    async close(ctx, conn, next) {
      // No selection on close; only look up the named endpoint (expired or not) so that a selector
      // which lost its memory (a restart) can still reach it. Close always continues.
      const name = conn.network_service_endpoint_name;
      let found: Candidates | undefined;
      if (name) {
        try {
          const [nse] = await findEndpoints(ctx, options.nse, { name });
          if (nse) found = { networkService: undefined, endpoints: [{ nse, weight: 1 }] };
        } catch (err) {
          ctx.log.warn(
            { connId: conn.id, nse: name, err: String(err) },
            'looking up the endpoint to close failed',
          );
        }
      }
      return next.close(found ? withCandidates(ctx, found) : ctx, conn);
    },
  };
}

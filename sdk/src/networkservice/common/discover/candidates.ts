/** The endpoints `discoverCandidates` found for a request, handed to the selecting element in the context. */
import type { NetworkService, NetworkServiceEndpoint } from '../../../api/types.js';
import { createContextKey, withValue, type Context, type ContextKey } from '../../../core/context.js';

/** One endpoint that may serve the request, with the weight of the route that selected it (at least 1). */
export interface Candidate {
  nse: NetworkServiceEndpoint;
  weight: number;
}

/** What discovery found for the current request. */
export interface Candidates {
  /** The requested service; `undefined` when the request named its endpoint and the service is not registered. */
  networkService: NetworkService | undefined;
  /** In registry order, each endpoint once. */
  endpoints: Candidate[];
}

/** The context key of the candidates. */
export const kCandidates: ContextKey<Candidates | undefined> = createContextKey<Candidates | undefined>(
  'discover.candidates',
  undefined,
);

/** `ctx` carrying `candidates`. Usage: `next.request(withCandidates(ctx, found), req)`. */
export function withCandidates(ctx: Context, candidates: Candidates): Context {
  return withValue(ctx, kCandidates, candidates);
}

/** The candidates found by `discoverCandidates` earlier in the chain. Usage: `const found = candidatesOf(ctx)`. */
export function candidatesOf(ctx: Context): Candidates | undefined {
  return ctx.value(kCandidates);
}

/**
 * Waiting for an endpoint to appear: when no registered endpoint matches a request, discovery watches
 * the registry (a Find with watch) for the service's endpoints and answers as soon as one matches,
 * as upstream's discover does. A client started before its endpoint, or healing while its endpoint
 * restarts, then connects the moment the endpoint registers instead of at its next retry. The wait
 * ends with the request's deadline (less a margin, so the NOT_FOUND reason still reaches the caller)
 * or after `waitMs`, whichever comes first.
 */
import { Subscription } from 'rxjs';
import { newEndpoint } from '../../../api/builders.js';
import type { NetworkService, NetworkServiceEndpoint } from '../../../api/types.js';
import type { Context } from '../../../core/context.js';
import type { NseHandler } from '../../../core/registry-chain.js';
import { matchEndpoints, type MatchResult } from './match.js';
import { isExpired } from './registry-lookup.js';

/** Time kept back from the deadline for the answer to travel back. */
export const DEADLINE_MARGIN_MS = 500;

/** How long discovery may wait in `ctx` (0: not at all). */
export function waitBudget(ctx: Context, waitMs: number): number {
  if (waitMs <= 0) return 0;
  const now = ctx.clock.now();
  const byDeadline = ctx.deadline === undefined ? Infinity : ctx.deadline - DEADLINE_MARGIN_MS - now;
  return Math.max(0, Math.min(waitMs, byDeadline));
}

/**
 * Watches the endpoints of `ns` for up to `budgetMs`; resolves with the first match result that has
 * candidates, or `undefined` when the time runs out, the call is cancelled or the watch fails.
 */
export function waitForCandidates(
  ctx: Context,
  nse: NseHandler,
  ns: NetworkService,
  labels: Readonly<Record<string, string>>,
  budgetMs: number,
): Promise<{ result: MatchResult; live: NetworkServiceEndpoint[] } | undefined> {
  return new Promise((resolve) => {
    const known = new Map<string, NetworkServiceEndpoint>();
    let done = false;
    // Finishing unsubscribes; a finish during subscribe() (a synchronous match) tears the inner one down at once.
    const sub = new Subscription();
    const finish = (value: { result: MatchResult; live: NetworkServiceEndpoint[] } | undefined): void => {
      if (done) return;
      done = true;
      cancelTimer();
      ctx.signal.removeEventListener('abort', onAbort);
      sub.unsubscribe();
      resolve(value);
    };
    const onAbort = (): void => finish(undefined);
    const cancelTimer = ctx.clock.after(budgetMs, () => finish(undefined));
    ctx.signal.addEventListener('abort', onAbort);
    const query = {
      network_service_endpoint: newEndpoint({ network_service_names: [ns.name] }),
      watch: true,
    };
    sub.add(
      nse.find(ctx, query).subscribe({
        next(response) {
          const e = response.network_service_endpoint;
          if (!e || !e.network_service_names.includes(ns.name)) return;
          if (response.deleted) known.delete(e.name);
          else known.set(e.name, e);
          const now = ctx.clock.now();
          const live = [...known.values()].filter((x) => !isExpired(x, now));
          const result = matchEndpoints(ns, live, labels);
          if (result.candidates.length > 0) finish({ result, live });
        },
        error: () => finish(undefined),
        complete: () => finish(undefined),
      }),
    );
  });
}

/**
 * Watches one's own registration: the signal that the registry restarted (the stream breaks) or
 * lost the record (a `deleted` event), so the owner can re-register without waiting for a refresh.
 */
import { Subscription, toArray } from 'rxjs';
import { newEndpoint } from '../../api/builders.js';
import { withoutCancel, type Context } from '../../core/context.js';
import { NsmError } from '../../core/errors.js';
import type { NseHandler } from '../../core/registry-chain.js';

/**
 * Opens a watch on the NSE `name` through `next`; `onLost` runs once (asynchronously) when the
 * stream fails, ends or reports the record deleted. Returns a function that stops the watch
 * without calling `onLost`. Usage: `const stop = watchOwnRecord(ctx, next, 'nse-a', reRegister)`.
 */
export function watchOwnRecord(
  ctx: Context,
  next: NseHandler,
  name: string,
  onLost: (why: string) => void,
): () => void {
  // No deadline: a watch lasts until stopped (grpc-js turns deadlines beyond ~24.8 days into immediate expiry).
  const call = withoutCancel(ctx);
  let stopped = false;
  // A container first: a stream failing synchronously on subscribe is then torn down on `add`.
  const sub = new Subscription();
  const end = (): void => {
    stopped = true;
    sub.unsubscribe();
    call.cancel();
  };
  const lost = (why: string): void => {
    if (stopped) return;
    end();
    // Deferred so that the owner has the stop function in hand before it hears of the loss.
    queueMicrotask(() => onLost(why));
  };
  sub.add(
    next.find(call.ctx, { network_service_endpoint: newEndpoint({ name }), watch: true }).subscribe({
      next: (r) => {
        if (r.deleted && r.network_service_endpoint?.name === name)
          lost('the registry reported the record deleted');
      },
      error: (err: unknown) => lost(`the watch failed: ${NsmError.from(err).message}`),
      complete: () => lost('the watch stream ended'),
    }),
  );
  // The watch may have reached a registry that restarted and lost the record without ever saying
  // "deleted": ask once whether the record is there.
  sub.add(
    next
      .find(call.ctx, { network_service_endpoint: newEndpoint({ name }), watch: false })
      .pipe(toArray())
      .subscribe({
        next: (found) => {
          if (!found.some((r) => r.network_service_endpoint?.name === name && !r.deleted)) {
            lost('the registry does not hold the record');
          }
        },
        error: (err: unknown) => lost(`checking the record failed: ${NsmError.from(err).message}`),
      }),
  );
  return () => {
    if (!stopped) end();
  };
}

/** Polling with a deadline, for set-up steps that finish in another process. */
import { backoffDelay } from '@nsm-ts/sdk/tools';

/**
 * Polls `check` until it returns a value other than undefined, from every `everyMs` slowing to every
 * 4 × `everyMs` (the project's one backoff); rejects with `what` on timeout.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined> | T | undefined,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    const pause = backoffDelay(attempt, { initialMs: everyMs, maxMs: 4 * everyMs, jitter: 0 });
    await new Promise((r) => setTimeout(r, pause));
  }
}

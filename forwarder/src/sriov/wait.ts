/** Polling sysfs for an effect without blocking the event loop. */
import { setTimeout as delay } from 'node:timers/promises';

import { NsmError } from '@nsm-ts/sdk/core';

/** How long to wait for the kernel, and how often to look. */
export interface PollOptions {
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** Aborting rejects with CANCELLED. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Calls `probe` until it returns a value or `timeoutMs` passed (then undefined), sleeping
 * `pollMs` between calls. Usage: `await pollUntil(() => sysfs.netdevsOf(vf)[0], { timeoutMs: 1000, pollMs: 10 })`.
 */
export async function pollUntil<T>(probe: () => T | undefined, options: PollOptions): Promise<T | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    try {
      await delay(Math.min(options.pollMs, left), undefined, { signal: options.signal });
    } catch (err) {
      throw NsmError.from(err);
    }
  }
}

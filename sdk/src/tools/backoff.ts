/**
 * Exponential backoff with jitter and a cap: the one retry pacing of the project (heal, registry
 * refresh, caches, dials, the lab's supervisor). Quick first retries, because a restarting peer is
 * usually back within a second; then a calm pace, spread by jitter so that many waiting clients do
 * not retry in step.
 */

/** How a backoff grows. */
export interface BackoffOptions {
  /** The first pause (attempt 1). */
  readonly initialMs: number;
  /** The longest pause. */
  readonly maxMs: number;
  /** Growth per attempt (default 2). */
  readonly factor?: number;
  /** Fraction of each pause that is random, 0..1 (default 0.2: a pause of 1000 ms lies in 800..1000). */
  readonly jitter?: number;
  /** Randomness in [0, 1) (default Math.random); tests pass a fixed one. */
  readonly random?: () => number;
}

/**
 * The pause before attempt `attempt + 1` after `attempt` failures (1-based).
 * Usage: `await sleep(clock, backoffDelay(failures, { initialMs: 200, maxMs: 2000 }))`.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2));
  const step = Math.max(0, Math.floor(attempt) - 1);
  const full = Math.min(options.maxMs, options.initialMs * factor ** Math.min(step, 64));
  const random = options.random ?? Math.random;
  return Math.round(full * (1 - jitter * random()));
}

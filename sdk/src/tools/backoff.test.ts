import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const none = { random: () => 0 };

  it('doubles from the first pause up to the cap', () => {
    const pauses = [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, { initialMs: 200, maxMs: 2000, ...none }));
    expect(pauses).toEqual([200, 400, 800, 1600, 2000, 2000]);
  });

  it('takes up to `jitter` of each pause off at random, never more', () => {
    const low = backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter: 0.5, random: () => 0.999 });
    const high = backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter: 0.5, random: () => 0 });
    expect(high).toBe(400);
    expect(low).toBeGreaterThanOrEqual(200);
    expect(low).toBeLessThan(400);
  });

  it('stays finite and capped for huge attempt numbers, and treats attempt 0 as the first', () => {
    expect(backoffDelay(10_000, { initialMs: 1, maxMs: 5000, ...none })).toBe(5000);
    expect(backoffDelay(0, { initialMs: 50, maxMs: 5000, ...none })).toBe(50);
  });
});

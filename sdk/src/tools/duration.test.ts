import { describe, expect, it } from 'vitest';
import { Code, NsmError } from '../core/errors.js';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['250ms', 250],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['+2s', 2000],
    [' 5s ', 5000],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['2000000ns', 2],
    ['1s1s', 2000],
  ])('reads %s', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['10', /"10" has no unit/],
    ['1m30', /"30" has no unit/],
    ['-5s', /negative/],
    ['5x', /unknown unit at "5x"/],
    ['5 s', /unknown unit at "5 s"/],
    ['ms', /expected a number at "ms"/],
    ['1d', /unknown unit/],
    ['abc', /expected a number/],
    ['1e3s', /unknown unit/],
  ])('rejects %j with a clear error', (text, why) => {
    let caught: unknown;
    try {
      parseDuration(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NsmError);
    expect((caught as NsmError).code).toBe(Code.INVALID_ARGUMENT);
    expect((caught as NsmError).message).toMatch(why);
    expect((caught as NsmError).message).toContain(`"${text}"`);
    expect((caught as NsmError).message).toMatch(/e\.g\. 250ms, 30s, 1m30s/);
  });

  it('rejects absurdly large values', () => {
    expect(() => parseDuration('9'.repeat(400) + 'h')).toThrow(/too large/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [1000, '1s'],
    [90_000, '1m30s'],
    [60_250, '1m250ms'],
    [3_600_000, '1h'],
    [3_723_004, '1h2m3.004s'],
    [1.5, '1.5ms'],
    [0.0015, '1.5us'],
    [-2000, '-2s'],
  ])('formats %d as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [0, 1, 999, 1000, 59_999, 60_000, 61_001, 3_599_999, 86_400_000]) {
      expect(parseDuration(formatDuration(ms))).toBeCloseTo(ms, 6);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { formatRfc3339, parseRfc3339 } from './rfc3339.js';

describe('rfc3339', () => {
  it('formats with second precision and parses offsets', () => {
    expect(formatRfc3339(Date.UTC(2026, 0, 1, 0, 10, 0, 999))).toBe('2026-01-01T00:10:00Z');
    expect(parseRfc3339('2026-01-01T00:10:00Z')).toBe(Date.UTC(2026, 0, 1, 0, 10));
    expect(parseRfc3339('2026-01-01T02:10:00.5+02:00')).toBe(Date.UTC(2026, 0, 1, 0, 10, 0, 500));
    expect(parseRfc3339('tomorrow')).toBeUndefined();
    expect(parseRfc3339('2026-01-01')).toBeUndefined();
    expect(parseRfc3339(undefined)).toBeUndefined();
  });
});

/** RFC 3339 times as carried in the `nsm-client-token-expires` metadata. */

const pattern = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch → `2026-01-01T00:10:00Z` (second precision, as Go's time.RFC3339). */
export function formatRfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** RFC 3339 text → milliseconds since the epoch, or `undefined` when malformed. Usage: `parseRfc3339(md[key])`. */
export function parseRfc3339(text: string | undefined): number | undefined {
  if (text === undefined || !pattern.test(text)) return undefined;
  const ms = Date.parse(text.replace(' ', 'T'));
  return Number.isNaN(ms) ? undefined : ms;
}

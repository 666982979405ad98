/**
 * Server-sent events (the `text/event-stream` format of the HTML standard): each event is an
 * optional `id:` line, an `event:` line and one `data:` line per line of its data, ended by a blank
 * line. A line starting with `:` is a comment, which keeps proxies and the connection awake.
 */

/** One event, framed. Usage: `res.write(sseFrame('status', JSON.stringify(status), 7))`. */
export function sseFrame(event: string, data: string, id?: number | string): string {
  if (/[\r\n]/.test(event))
    throw new Error(`an SSE event name cannot hold a line break: ${JSON.stringify(event)}`);
  const idLine = id === undefined ? '' : `id: ${String(id).replace(/[\r\n]/g, '')}\n`;
  const dataLines = data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('');
  return `${idLine}event: ${event}\n${dataLines}\n`;
}

/** A comment line (ignored by EventSource). */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/** The reconnection delay EventSource should use, in milliseconds. */
export function sseRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.round(ms))}\n\n`;
}

/** One parsed event of a stream (for clients and tests). */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * Splits a stream's text into complete events, as EventSource does; `rest` is the start of an event
 * not complete yet. Comments and `retry:` lines are dropped; an event without `event:` is `message`.
 */
export function parseSse(text: string): { events: SseEvent[]; rest: string } {
  const blocks = text.split(/\r\n\r\n|\n\n|\r\r/);
  const rest = blocks.pop() ?? '';
  const events: SseEvent[] = [];
  for (const block of blocks) {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r\n|\r|\n/)) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (data.length > 0) events.push({ event, data: data.join('\n'), ...(id !== undefined ? { id } : {}) });
  }
  return { events, rest };
}

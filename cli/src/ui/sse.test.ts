import { describe, expect, it } from 'vitest';
import { parseSse, sseComment, sseFrame, sseRetry } from './sse.js';

describe('SSE framing', () => {
  it('frames an event with its id, name and data, ended by a blank line', () => {
    expect(sseFrame('status', '{"a":1}', 7)).toBe('id: 7\nevent: status\ndata: {"a":1}\n\n');
    expect(sseFrame('heartbeat', '{}')).toBe('event: heartbeat\ndata: {}\n\n');
  });

  it('gives every line of the data its own data: line, whatever the line ending', () => {
    expect(sseFrame('x', 'one\ntwo\r\nthree\rfour')).toBe(
      'event: x\ndata: one\ndata: two\ndata: three\ndata: four\n\n',
    );
  });

  it('refuses an event name with a line break, which would break the stream', () => {
    expect(() => sseFrame('a\nb', '')).toThrow(/line break/);
  });

  it('writes comments and the retry delay as EventSource expects', () => {
    expect(sseComment('hello\nworld')).toBe(': hello world\n\n');
    expect(sseRetry(1000.4)).toBe('retry: 1000\n\n');
  });

  it('parses back what it frames, keeping an incomplete event for later', () => {
    const text =
      sseRetry(1000) +
      sseComment('hi') +
      sseFrame('status', JSON.stringify({ lab: 'x', lines: 'a\nb' }, null, 2), 1) +
      sseFrame('down', '{"error":"gone"}', 2) +
      'event: status\ndata: {"partial"';
    const { events, rest } = parseSse(text);
    expect(events).toEqual([
      { id: '1', event: 'status', data: JSON.stringify({ lab: 'x', lines: 'a\nb' }, null, 2) },
      { id: '2', event: 'down', data: '{"error":"gone"}' },
    ]);
    expect(JSON.parse(events[0]!.data)).toEqual({ lab: 'x', lines: 'a\nb' });
    expect(rest).toBe('event: status\ndata: {"partial"');
  });
});

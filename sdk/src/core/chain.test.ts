import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { newRequest } from '../api/builders.js';
import { chain, element, named, toHandler, traceChains } from './chain.js';
import { createContext } from './context.js';

/** A debug logger whose lines land in `lines`. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: pino({ level: 'debug' }, sink) };
}

const pass = element({});
const refuse = element({ request: () => Promise.reject(new Error('refused by the test')) });

describe('the chain trace', () => {
  afterEach(() => traceChains(false));

  it('logs every element entering and leaving request and close, with the connection id', async () => {
    traceChains(true);
    const { lines, log } = capture();
    const handler = toHandler([named('first', pass), chain(named('inner', pass)), pass]);
    const ctx = createContext({ log });
    const conn = await handler.request(ctx, newRequest({ id: 'c-1' }));
    await handler.close(ctx, conn);
    const seen = lines.map(
      (l) => `${String(l['op'])} ${String(l['element'])} ${String(l['msg'])} ${String(l['connId'])}`,
    );
    // Nested as the calls are: the inner chain's next is the element after it.
    expect(seen).toEqual([
      'request first enter c-1',
      'request element 1 enter c-1',
      'request inner enter c-1',
      'request element 2 enter c-1',
      'request element 2 exit c-1',
      'request inner exit c-1',
      'request element 1 exit c-1',
      'request first exit c-1',
      'close first enter c-1',
      'close element 1 enter c-1',
      'close inner enter c-1',
      'close element 2 enter c-1',
      'close element 2 exit c-1',
      'close inner exit c-1',
      'close element 1 exit c-1',
      'close first exit c-1',
    ]);
    expect(lines.every((l) => l['level'] === 20 && typeof l['ms'] !== 'string')).toBe(true);
  });

  it('logs the error of a failing element, and is silent when off', async () => {
    traceChains(true);
    const traced = capture();
    await expect(
      toHandler([named('refuser', refuse)]).request(
        createContext({ log: traced.log }),
        newRequest({ id: 'c-2' }),
      ),
    ).rejects.toThrow('refused');
    expect(traced.lines.at(-1)).toMatchObject({
      element: 'refuser',
      msg: 'failed',
      err: 'Error: refused by the test',
    });
    traceChains(false);
    const quiet = capture();
    await toHandler([named('first', pass)]).request(
      createContext({ log: quiet.log }),
      newRequest({ id: 'c-3' }),
    );
    expect(quiet.lines).toEqual([]);
  });
});

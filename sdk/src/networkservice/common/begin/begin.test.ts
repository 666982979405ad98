import { describe, expect, it } from 'vitest';
import { ensureIpContext, newRequest } from '../../../api/builders.js';
import type { Connection, IPContext, NetworkServiceRequest } from '../../../api/types.js';
import { element, toHandler, type NetworkServiceElement } from '../../../core/chain.js';
import { FakeClock } from '../../../core/clock.js';
import { createContext, createContextKey, withValue } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { begin, eventFactoryOf, type EventFactory } from './begin.js';

/** A promise resolved from outside, to hold a call at a known point. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The rest of the chain: logs start/end of every call; `gates` holds the n-th request until released;
 * `failNext` refuses the next request; `factories` keeps the event factory each call saw.
 */
function probe() {
  const log: string[] = [];
  const gates = new Map<number, Promise<void>>();
  const factories: EventFactory[] = [];
  const seenRequests: NetworkServiceRequest[] = [];
  let count = 0;
  let failNext = false;
  const tail: NetworkServiceElement = {
    async request(ctx, req) {
      const n = ++count;
      factories.push(eventFactoryOf(ctx));
      seenRequests.push(structuredClone(req));
      log.push(`request ${n} start`);
      await gates.get(n);
      log.push(`request ${n} end`);
      if (failNext) {
        failNext = false;
        throw new NsmError(Code.UNAVAILABLE, 'refused by the test');
      }
      return { ...req.connection!, payload: `answer ${n}` };
    },
    close(ctx, conn) {
      factories.push(eventFactoryOf(ctx));
      log.push(`close ${conn.id}`);
      return Promise.resolve();
    },
  };
  return { log, gates, factories, seenRequests, tail, failNext: () => void (failNext = true) };
}

function setup(before: NetworkServiceElement[] = []) {
  const ctx = createContext({ clock: new FakeClock() });
  const p = probe();
  const handler = toHandler([...before, begin(), p.tail]);
  return { ctx, p, handler };
}

describe('begin', () => {
  it('serialises a refresh and a close: the close waits for the refresh to finish', async () => {
    const { ctx, p, handler } = setup();
    const conn = await handler.request(ctx, newRequest({ id: 'a' }));
    const gate = deferred();
    p.gates.set(2, gate.promise);
    const refreshed = p.factories[0]!.request();
    const closed = handler.close(ctx, conn);
    await new Promise((r) => setImmediate(r));
    expect(p.log).toEqual(['request 1 start', 'request 1 end', 'request 2 start']);
    gate.resolve();
    await Promise.all([refreshed, closed]);
    expect(p.log).toEqual([
      'request 1 start',
      'request 1 end',
      'request 2 start',
      'request 2 end',
      'close a',
    ]);
  });

  it('runs different connections concurrently', async () => {
    const { ctx, p, handler } = setup();
    const gate = deferred();
    p.gates.set(1, gate.promise);
    const first = handler.request(ctx, newRequest({ id: 'a' }));
    await handler.request(ctx, newRequest({ id: 'b' }));
    expect(p.log).toEqual(['request 1 start', 'request 2 start', 'request 2 end']);
    gate.resolve();
    await first;
  });

  it('lets elements after it start events that replay the last request through the rest only', async () => {
    const key = createContextKey('caller', 'none');
    const marker = element({ request: (c, req, next) => next.request(withValue(c, key, 'outer'), req) });
    let seenKey = '';
    const after = element({
      request(c, req, next) {
        seenKey = c.value(key);
        return next.request(c, req);
      },
    });
    const ctx = createContext({ clock: new FakeClock() });
    const p = probe();
    let outerCalls = 0;
    const counter = element({ request: (c, req, next) => (outerCalls++, next.request(c, req)) });
    const handler = toHandler([counter, marker, begin(), after, p.tail]);
    await handler.request(ctx, newRequest({ id: 'a', labels: { app: 'x' } }));
    const replayed = await p.factories[0]!.request((req) => void (req.connection!.labels['extra'] = 'y'));
    expect(outerCalls).toBe(1); // the event did not pass the elements before begin
    expect(seenKey).toBe('outer'); // but it kept the values of the original context
    expect(replayed.payload).toBe('answer 2');
    expect(p.seenRequests[1]?.connection).toMatchObject({
      labels: { app: 'x', extra: 'y' },
      payload: 'answer 1',
    });
  });

  it('closes from inside the chain, after which the connection is forgotten', async () => {
    const { ctx, p, handler } = setup();
    const conn = await handler.request(ctx, newRequest({ id: 'a' }));
    await p.factories[0]!.close();
    expect(p.log.at(-1)).toBe('close a');
    await handler.close(ctx, conn);
    expect(p.log.filter((l) => l.startsWith('close'))).toHaveLength(1);
    await expect(p.factories[0]!.request()).rejects.toThrow(/closed/);
  });

  it('does not call next for a close of an unknown id', async () => {
    const { ctx, p, handler } = setup();
    await handler.close(ctx, newRequest({ id: 'never-seen' }).connection!);
    expect(p.log).toEqual([]);
  });

  it('leaves no state after a failed first request', async () => {
    const { ctx, p, handler } = setup();
    p.failNext();
    await expect(handler.request(ctx, newRequest({ id: 'a' }))).rejects.toMatchObject({
      code: Code.UNAVAILABLE,
    });
    await handler.close(ctx, newRequest({ id: 'a' }).connection!);
    expect(p.log).toEqual(['request 1 start', 'request 1 end']);
    await expect(p.factories[0]!.request()).rejects.toThrow(/closed/);
  });

  it('keeps the connection after a failed refresh', async () => {
    const { ctx, p, handler } = setup();
    const conn = await handler.request(ctx, newRequest({ id: 'a' }));
    p.failNext();
    await expect(p.factories[0]!.request()).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    const again = await p.factories[0]!.request();
    expect(again.payload).toBe('answer 3');
    // The failed attempt did not replace the remembered request.
    expect(p.seenRequests[2]?.connection?.payload).toBe('answer 1');
    await handler.close(ctx, conn);
    expect(p.log.at(-1)).toBe('close a');
  });

  it('gives the same event factory to every event of one connection', async () => {
    const { ctx, p, handler } = setup();
    const conn = await handler.request(ctx, newRequest({ id: 'a' }));
    await handler.request(ctx, { connection: conn, mechanism_preferences: [] });
    await p.factories[0]!.request();
    await handler.close(ctx, conn);
    expect(new Set(p.factories).size).toBe(1);
  });

  it('throws from eventFactoryOf without begin', () => {
    expect(() => eventFactoryOf(createContext())).toThrow(/begin/);
  });

  // An event factory outlives its connection (a timer may fire just before the close): begin checks
  // that the factory is still the entry's before it acts.
  it('ignores events from the factory of a connection that was closed and re-requested', async () => {
    const { ctx, p, handler } = setup();
    const conn = await handler.request(ctx, newRequest({ id: 'a' }));
    const stale = p.factories[0]!;
    await handler.close(ctx, conn);
    await handler.request(ctx, newRequest({ id: 'a' }));
    await stale.close().catch(() => undefined);
    expect(p.log.filter((l) => l.startsWith('close'))).toHaveLength(1);
  });

  /** A chain whose endpoint names itself `nse-<n>` on every fresh selection and logs calls. */
  function selecting() {
    const log: string[] = [];
    const factories: EventFactory[] = [];
    let n = 0;
    const handler = toHandler([
      begin(),
      element({
        request(ctx, req) {
          factories.push(eventFactoryOf(ctx));
          const conn = req.connection!;
          const nse = conn.network_service_endpoint_name || `nse-${++n}`;
          log.push(`request ${conn.state} → ${nse}`);
          return Promise.resolve({ ...conn, network_service_endpoint_name: nse, state: 'UP' as const });
        },
        close(_ctx, conn) {
          log.push(`close ${conn.network_service_endpoint_name}`);
          return Promise.resolve();
        },
      }),
    ]);
    return { log, factories, handler, ctx: createContext({ clock: new FakeClock() }) };
  }

  it("closes with the connection it answered last, not the caller's older copy", async () => {
    const { log, factories, handler, ctx } = selecting();
    const first = await handler.request(ctx, newRequest({ id: 'a' }));
    expect(first.network_service_endpoint_name).toBe('nse-1');
    // A heal moves the connection to another endpoint; the caller still holds `first`.
    await factories[0]!.reselect();
    await handler.close(ctx, first);
    expect(log).toEqual([
      'request UP → nse-1',
      'close nse-1',
      'request RESELECT_REQUESTED → nse-2',
      'close nse-2',
    ]);
  });

  it('a request in state RESELECT_REQUESTED closes the old path first, then selects anew', async () => {
    const { log, factories, handler, ctx } = selecting();
    const first = await handler.request(ctx, newRequest({ id: 'a' }));
    // The way upstream's heal sends it: the same connection, no endpoint, no mechanism, no Close before.
    const again = await handler.request(
      ctx,
      newRequest({
        ...first,
        network_service_endpoint_name: '',
        mechanism: null,
        state: 'RESELECT_REQUESTED',
      }),
    );
    expect(again.network_service_endpoint_name).toBe('nse-2');
    expect(log).toEqual(['request UP → nse-1', 'close nse-1', 'request RESELECT_REQUESTED → nse-2']);
    // The old connection's events are over: its factory no longer acts.
    await expect(factories[0]!.request()).rejects.toThrow(/closed/);
    await handler.close(ctx, again);
    expect(log.at(-1)).toBe('close nse-2');
  });

  it('a first request in state RESELECT_REQUESTED has nothing to close', async () => {
    const { log, handler, ctx } = selecting();
    await handler.request(ctx, newRequest({ id: 'new', state: 'RESELECT_REQUESTED' }));
    expect(log).toEqual(['request RESELECT_REQUESTED → nse-1']);
  });

  it("a reselect forgets the old endpoint's addresses and routes, keeping what the client asked for", async () => {
    const seen: NetworkServiceRequest[] = [];
    const handler = toHandler([
      begin(),
      element({
        request(ctx, req) {
          seen.push(structuredClone(req));
          factory = eventFactoryOf(ctx);
          const conn = structuredClone(req.connection!);
          conn.context = {
            ip_context: {
              ...ensureIpContextFor(conn),
              src_ip_addrs: ['10.1.0.2/32'],
              dst_ip_addrs: ['10.1.0.1/32'],
              src_routes: [{ prefix: '10.1.0.1/32', nextHop: '' }],
              excluded_prefixes: ['10.9.0.0/16'],
            },
            dns_context: null,
            ethernet_context: null,
            extra_context: {},
            MTU: 1400,
          };
          return Promise.resolve(conn);
        },
      }),
    ]);
    let factory: EventFactory | undefined;
    await handler.request(createContext(), newRequest({ id: 'a' }));
    await factory!.reselect();
    const ip = seen[1]!.connection!.context!.ip_context!;
    expect(ip.src_ip_addrs).toEqual([]);
    expect(ip.dst_ip_addrs).toEqual([]);
    expect(ip.src_routes).toEqual([]);
    expect(ip.excluded_prefixes).toEqual(['10.9.0.0/16']);
    expect(seen[1]!.connection!.context!.MTU).toBe(1400);
  });
});

function ensureIpContextFor(conn: Connection): IPContext {
  return ensureIpContext(structuredClone(conn));
}

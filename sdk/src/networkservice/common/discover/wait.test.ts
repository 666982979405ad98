import { Subject, concat, from } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { newRequest } from '../../../api/builders.js';
import type { NetworkServiceEndpoint } from '../../../api/types.js';
import { element, toHandler } from '../../../core/chain.js';
import { FakeClock } from '../../../core/clock.js';
import { createContext } from '../../../core/context.js';
import { Code } from '../../../core/errors.js';
import {
  registryElement,
  toRegistryHandler,
  type NetworkServiceEndpointQuery,
  type NetworkServiceEndpointResponse,
  type NseHandler,
} from '../../../core/registry-chain.js';
import { candidatesOf } from './candidates.js';
import { discoverCandidates } from './discover.js';
import { endpoint, fakeNsRegistry, match, networkService } from './testing.js';

const clock = new FakeClock();

/** An NSE registry whose watches get what the test pushes into `events` (after the records of the moment). */
function watchedRegistry(records: NetworkServiceEndpoint[]) {
  const events = new Subject<NetworkServiceEndpointResponse>();
  const watches: NetworkServiceEndpointQuery[] = [];
  const nse: NseHandler = toRegistryHandler([
    registryElement<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse>({
      find: (_ctx, query) => {
        const now = from(records.map((r) => ({ network_service_endpoint: r, deleted: false })));
        if (!query.watch) return now;
        watches.push(query);
        return concat(now, events);
      },
    }),
  ]);
  return {
    nse,
    events,
    watches,
    push: (e: NetworkServiceEndpoint, deleted = false) =>
      events.next({ network_service_endpoint: e, deleted }),
  };
}

function setup(records: NetworkServiceEndpoint[], waitMs: number, services = [networkService('svc')]) {
  const registry = watchedRegistry(records);
  const seen: string[][] = [];
  const handler = toHandler([
    discoverCandidates({ nse: registry.nse, ns: fakeNsRegistry(services), waitMs }),
    element({
      request: (c, req, next) => {
        seen.push(candidatesOf(c)?.endpoints.map((e) => e.nse.name) ?? []);
        return next.request(c, req);
      },
    }),
  ]);
  return { ...registry, handler, seen };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('discoverCandidates waiting for an endpoint', () => {
  afterEach(() => expect(clock.pending).toBe(0));

  it('answers as soon as a matching endpoint registers, ignoring ones that do not match', async () => {
    const services = [networkService('svc', [match({}, [{ app: 'fw' }])])];
    const t = setup([], 5000, services);
    const pending = t.handler.request(
      createContext({ clock }),
      newRequest({ id: 'c1', network_service: 'svc' }),
    );
    await settle();
    expect(t.watches).toHaveLength(1);
    t.push(endpoint('other', ['svc'], { app: 'vpn' }));
    t.push(endpoint('elsewhere', ['other-svc'], { app: 'fw' }));
    await settle();
    expect(t.seen).toEqual([]);
    await clock.advance(1000);
    t.push(endpoint('firewall', ['svc'], { app: 'fw' }));
    await pending;
    expect(t.seen).toEqual([['firewall']]);
  });

  it('gives up after waitMs, or the deadline less a margin, with the reason and how long it waited', async () => {
    const t = setup([], 5000);
    const failed = t.handler.request(
      createContext({ clock }),
      newRequest({ id: 'c1', network_service: 'svc' }),
    );
    await settle();
    const failure = expect(failed).rejects.toThrow(
      /^no endpoint of network service "svc" .* \(waited 5000 ms for one to register\)$/,
    );
    await clock.advance(5000);
    await failure;
    const short = t.handler.request(
      createContext({ clock, deadline: clock.now() + 2000 }),
      newRequest({ id: 'c2', network_service: 'svc' }),
    );
    await settle();
    const shortFailure = expect(short).rejects.toThrow('(waited 1500 ms for one to register)');
    await clock.advance(1500);
    await shortFailure;
    // A deadline too close to wait at all: the answer at once, without a watch.
    const watches = t.watches.length;
    await expect(
      t.handler.request(
        createContext({ clock, deadline: clock.now() + 400 }),
        newRequest({ id: 'c3', network_service: 'svc' }),
      ),
    ).rejects.toMatchObject({ code: Code.NOT_FOUND });
    expect(t.watches).toHaveLength(watches);
  });

  it('stops waiting when the call is cancelled, and forgets an endpoint deleted meanwhile', async () => {
    const t = setup([], 5000);
    const abort = new AbortController();
    const cancelled = t.handler.request(
      createContext({ clock, signal: abort.signal }),
      newRequest({ id: 'c1', network_service: 'svc' }),
    );
    await settle();
    // A deletion is not an endpoint to connect to.
    t.push(endpoint('nse-1', ['svc']), true);
    await settle();
    abort.abort();
    await expect(cancelled).rejects.toMatchObject({ code: Code.NOT_FOUND });
    expect(t.events.observed).toBe(false);
  });

  it('does not wait without waitMs (the SDK default): NOT_FOUND at once', async () => {
    const t = setup([], 0);
    await expect(
      t.handler.request(createContext({ clock }), newRequest({ id: 'c1', network_service: 'svc' })),
    ).rejects.toMatchObject({ code: Code.NOT_FOUND });
    expect(t.watches).toEqual([]);
  });
});

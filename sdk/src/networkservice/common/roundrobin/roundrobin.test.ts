import { describe, expect, it } from 'vitest';
import { newConnection, newRequest } from '../../../api/builders.js';
import type { Connection, NetworkServiceEndpoint } from '../../../api/types.js';
import { element, toHandler } from '../../../core/chain.js';
import { metadata } from '../../../core/metadata.js';
import { createContext } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { clientUrlOf } from '../clienturl/clienturl.js';
import { withCandidates } from '../discover/candidates.js';
import { discoverCandidates } from '../discover/discover.js';
import { endpoint, fakeNseRegistry, fakeNsRegistry, match, networkService } from '../discover/testing.js';
import { roundRobin, type RoundRobinOptions } from './roundrobin.js';

const ctx = createContext();

/** discover + roundRobin + a far side that records each try and refuses the endpoints in `down`. */
function setup(
  nses: NetworkServiceEndpoint[],
  matches = [match({}, [{}])],
  options: RoundRobinOptions = { random: () => 0 },
) {
  const tries: { op: 'request' | 'close'; nse: string; url: string | undefined }[] = [];
  const down = new Set<string>();
  const far = element({
    request: (c, req, next) => {
      const nse = req.connection?.network_service_endpoint_name ?? '';
      tries.push({ op: 'request', nse, url: clientUrlOf(c) });
      if (down.has(nse)) return Promise.reject(new NsmError(Code.UNAVAILABLE, `${nse} is down`));
      return next.request(c, req);
    },
    close: (c, conn, next) => {
      tries.push({ op: 'close', nse: conn.network_service_endpoint_name, url: clientUrlOf(c) });
      return next.close(c, conn);
    },
  });
  const handler = toHandler([
    metadata('server'),
    discoverCandidates({ nse: fakeNseRegistry(nses), ns: fakeNsRegistry([networkService('svc', matches)]) }),
    roundRobin(options),
    far,
  ]);
  const request = (id: string, init: Partial<Connection> = {}) =>
    handler.request(ctx, newRequest({ id, network_service: 'svc', ...init }));
  return { handler, tries, down, request };
}

const three = () => ['a', 'b', 'c'].map((n) => endpoint(n, ['svc']));

describe('roundRobin', () => {
  it('rotates over the candidates across connections, one try each', async () => {
    const { request, tries } = setup(three());
    const picked: string[] = [];
    for (let i = 0; i < 6; i++) picked.push((await request(`c${i}`)).network_service_endpoint_name);
    expect(picked).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    expect(tries.map((t) => t.url)).toEqual(picked.map((n) => `unix:///run/nsm/${n}.sock`));
  });

  it('rotates per service', async () => {
    const nses = [endpoint('a', ['svc', 'other']), endpoint('b', ['svc', 'other'])];
    const services = fakeNsRegistry([networkService('svc'), networkService('other')]);
    const handler = toHandler([
      metadata('server'),
      discoverCandidates({ nse: fakeNseRegistry(nses), ns: services }),
      roundRobin({ random: () => 0 }),
    ]);
    const pick = async (id: string, svc: string) =>
      (await handler.request(ctx, newRequest({ id, network_service: svc }))).network_service_endpoint_name;
    expect([
      await pick('1', 'svc'),
      await pick('2', 'other'),
      await pick('3', 'svc'),
      await pick('4', 'other'),
    ]).toEqual(['a', 'a', 'b', 'b']);
  });

  it('splits picks by route weight (3:1 within tolerance over 1000 connections), interleaved', async () => {
    const nses = [
      endpoint('heavy', ['svc'], { tier: 'gold' }),
      endpoint('light', ['svc'], { tier: 'silver' }),
    ];
    const { request } = setup(nses, [
      match({}, [{ selector: { tier: 'gold' }, weight: 3 }, { tier: 'silver' }]),
    ]);
    const picked: string[] = [];
    for (let i = 0; i < 1000; i++) picked.push((await request(`c${i}`)).network_service_endpoint_name);
    const heavy = picked.filter((n) => n === 'heavy').length;
    expect(heavy).toBeGreaterThanOrEqual(720);
    expect(heavy).toBeLessThanOrEqual(780);
    expect(picked.slice(0, 4).sort()).toEqual(['heavy', 'heavy', 'heavy', 'light']);
  });

  it('tries the next candidate when one fails, naming each try', async () => {
    const { request, tries, down } = setup(three());
    down.add('a');
    const conn = await request('c1');
    expect(conn.network_service_endpoint_name).toBe('b');
    expect(tries.map((t) => [t.nse, t.url])).toEqual([
      ['a', 'unix:///run/nsm/a.sock'],
      ['b', 'unix:///run/nsm/b.sock'],
    ]);
  });

  it('fails listing every candidate and why when all fail', async () => {
    const { request, down } = setup(three());
    ['a', 'b', 'c'].forEach((n) => down.add(n));
    await expect(request('c1')).rejects.toMatchObject({
      code: Code.UNAVAILABLE,
      message:
        'all 3 endpoints of network service "svc" failed: a (unix:///run/nsm/a.sock): UNAVAILABLE: a is down; ' +
        'b (unix:///run/nsm/b.sock): UNAVAILABLE: b is down; c (unix:///run/nsm/c.sock): UNAVAILABLE: c is down',
    });
  });

  it('counts an endpoint without a URL as failed without calling it', async () => {
    const { request, tries } = setup([endpoint('a', ['svc'], {}, { url: '' }), endpoint('b', ['svc'])]);
    expect((await request('c1')).network_service_endpoint_name).toBe('b');
    expect(tries.map((t) => t.nse)).toEqual(['b']);
  });

  it('keeps a refresh on the chosen endpoint, and does not fall over when it fails', async () => {
    const { request, tries, down } = setup(three());
    const first = await request('c1');
    expect(first.network_service_endpoint_name).toBe('a');
    // Sticky without the name too (memory), with it (discover narrows to it).
    expect((await request('c1')).network_service_endpoint_name).toBe('a');
    expect((await request('c1', { network_service_endpoint_name: 'a' })).network_service_endpoint_name).toBe(
      'a',
    );
    down.add('a');
    await expect(request('c1', { network_service_endpoint_name: 'a' })).rejects.toThrow('a is down');
    await expect(request('c1')).rejects.toThrow('a is down');
    expect(tries.filter((t) => t.nse !== 'a')).toEqual([]);
    // Rotation was not consumed by the refreshes.
    expect((await request('c2')).network_service_endpoint_name).toBe('b');
  });

  it('selects again on RESELECT_REQUESTED', async () => {
    const { request, down } = setup(three());
    expect((await request('c1')).network_service_endpoint_name).toBe('a');
    down.add('a');
    const again = await request('c1', { state: 'RESELECT_REQUESTED' });
    expect(again.network_service_endpoint_name).toBe('b');
    expect((await request('c1')).network_service_endpoint_name).toBe('b');
  });

  it('closes at the chosen endpoint and forgets it', async () => {
    const { handler, request, tries } = setup(three());
    await request('c1');
    await handler.close(ctx, newConnection({ id: 'c1', network_service: 'svc' }));
    expect(tries.at(-1)).toEqual({ op: 'close', nse: 'a', url: 'unix:///run/nsm/a.sock' });
    // Forgotten: the next request of c1 is a new selection.
    expect((await request('c1')).network_service_endpoint_name).toBe('b');
  });

  it('closes at the endpoint the connection names after a restart (no memory)', async () => {
    const { handler, tries } = setup(three());
    await handler.close(
      ctx,
      newConnection({ id: 'c9', network_service: 'svc', network_service_endpoint_name: 'c' }),
    );
    expect(tries).toEqual([{ op: 'close', nse: 'c', url: 'unix:///run/nsm/c.sock' }]);
  });

  it('still closes the rest of the chain when no endpoint is known', async () => {
    const { handler, tries } = setup(three());
    await handler.close(ctx, newConnection({ id: 'c9', network_service: 'svc' }));
    expect(tries).toEqual([{ op: 'close', nse: '', url: undefined }]);
  });

  it('needs discoverCandidates before it', async () => {
    const handler = toHandler([metadata('server'), roundRobin({ random: () => 0 })]);
    await expect(
      handler.request(ctx, newRequest({ id: 'c1', network_service: 'svc' })),
    ).rejects.toMatchObject({
      code: Code.INTERNAL,
    });
    const empty = withCandidates(ctx, { networkService: undefined, endpoints: [] });
    await expect(
      handler.request(empty, newRequest({ id: 'c1', network_service: 'svc' })),
    ).rejects.toMatchObject({
      code: Code.NOT_FOUND,
    });
  });

  describe('locality and spreading', () => {
    const onNodes = () =>
      [
        ['a', 'node-1'],
        ['b', 'node-2'],
        ['c', 'node-2'],
      ].map(([name, nodeName]) => endpoint(name!, ['svc'], { nodeName: nodeName! }));

    it('prefers equal candidates on its own node, rotating among them', async () => {
      const { request } = setup(onNodes(), undefined, { nodeName: 'node-2', random: () => 0 });
      const picked: string[] = [];
      for (let i = 0; i < 4; i++) picked.push((await request(`c${i}`)).network_service_endpoint_name);
      expect(picked).toEqual(['b', 'c', 'b', 'c']);
    });

    it('falls back to the other nodes when every local candidate refuses', async () => {
      const { request, down, tries } = setup(onNodes(), undefined, { nodeName: 'node-2', random: () => 0 });
      down.add('b');
      down.add('c');
      expect((await request('c1')).network_service_endpoint_name).toBe('a');
      expect(tries.map((t) => t.nse)).toEqual(['b', 'c', 'a']);
    });

    it('lets weighted routes decide over locality', async () => {
      const nses = [
        endpoint('far', ['svc'], { tier: 'gold', nodeName: 'node-2' }),
        endpoint('near', ['svc'], { tier: 'silver', nodeName: 'node-1' }),
      ];
      const { request } = setup(
        nses,
        [match({}, [{ selector: { tier: 'gold' }, weight: 3 }, { tier: 'silver' }])],
        { nodeName: 'node-1', random: () => 0 },
      );
      const picked: string[] = [];
      for (let i = 0; i < 4; i++) picked.push((await request(`c${i}`)).network_service_endpoint_name);
      expect(picked.filter((n) => n === 'far')).toHaveLength(3);
    });

    it('starts a new rotation where `random` says, so forwarders do not all pick the first', async () => {
      const firstPick = async (random: number) =>
        (await setup(three(), undefined, { random: () => random }).request('c1'))
          .network_service_endpoint_name;
      expect([await firstPick(0), await firstPick(0.4), await firstPick(0.99)]).toEqual(['a', 'b', 'c']);
    });
  });
});

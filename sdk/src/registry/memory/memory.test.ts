import { firstValueFrom, of, toArray, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { newEndpoint } from '../../api/builders.js';
import type { NetworkService, NetworkServiceEndpoint } from '../../api/types.js';
import { createContext } from '../../core/context.js';
import { Code } from '../../core/errors.js';
import {
  registryTail,
  toRegistryHandler,
  type NetworkServiceEndpointQuery,
  type NetworkServiceEndpointResponse,
} from '../../core/registry-chain.js';
import { memoryNsStore, memoryNseStore } from './memory.js';

const ctx = createContext();
const nse = (name: string, services: string[], labels: Record<string, string> = {}): NetworkServiceEndpoint =>
  newEndpoint({
    name,
    url: `unix:///tmp/${name}.sock`,
    network_service_names: services,
    network_service_labels: Object.fromEntries(services.map((s) => [s, { labels: { ...labels } }])),
  });
const query = (init: Partial<NetworkServiceEndpoint> = {}, watch = false) => ({
  network_service_endpoint: newEndpoint(init),
  watch,
});
const all = <T>(o: Observable<T>): Promise<T[]> => firstValueFrom(o.pipe(toArray()));
const names = (rs: NetworkServiceEndpointResponse[]): string[] =>
  rs.map((r) => r.network_service_endpoint?.name ?? '?').sort();

describe('memoryNseStore', () => {
  it('registers, upserts by name, finds by query and unregisters', async () => {
    const handler = toRegistryHandler([memoryNseStore()]);
    await handler.register(ctx, nse('a', ['vpn'], { app: 'gw' }));
    await handler.register(ctx, nse('b', ['vpn', 'dns'], { app: 'fw' }));
    await handler.register(ctx, nse('c', ['dns']));
    expect(names(await all(handler.find(ctx, query())))).toEqual(['a', 'b', 'c']);
    expect(names(await all(handler.find(ctx, query({ network_service_names: ['vpn'] }))))).toEqual([
      'a',
      'b',
    ]);
    expect(
      names(
        await all(handler.find(ctx, query({ network_service_labels: { vpn: { labels: { app: 'fw' } } } }))),
      ),
    ).toEqual(['b']);
    expect(names(await all(handler.find(ctx, query({ name: 'c' }))))).toEqual(['c']);
    expect(await all(handler.find(ctx, query({ name: 'zzz' })))).toEqual([]);
    expect(await all(handler.find(ctx, { network_service_endpoint: null, watch: false }))).toHaveLength(3);

    // Re-registering "b" under one service moves it in the service index.
    await handler.register(ctx, nse('b', ['dns']));
    expect(names(await all(handler.find(ctx, query({ network_service_names: ['vpn'] }))))).toEqual(['a']);
    expect(names(await all(handler.find(ctx, query({ network_service_names: ['dns'] }))))).toEqual([
      'b',
      'c',
    ]);

    await handler.unregister(ctx, nse('a', []));
    expect(names(await all(handler.find(ctx, query())))).toEqual(['b', 'c']);
    expect(await all(handler.find(ctx, query({ network_service_names: ['vpn'] })))).toEqual([]);
  });

  it('gives an unnamed NSE a unique generated name', async () => {
    const handler = toRegistryHandler([memoryNseStore()]);
    const one = await handler.register(ctx, nse('', ['vpn']));
    const two = await handler.register(ctx, nse('', ['vpn']));
    expect(one.name).not.toBe('');
    expect(two.name).not.toBe(one.name);
    expect(await all(handler.find(ctx, query({ network_service_names: ['vpn'] })))).toHaveLength(2);
  });

  it('hands out copies: callers cannot change stored records', async () => {
    const handler = toRegistryHandler([memoryNseStore()]);
    const input = nse('a', ['vpn'], { app: 'gw' });
    const out = await handler.register(ctx, input);
    input.network_service_labels['vpn']!.labels['app'] = 'changed';
    out.network_service_names.push('dns');
    const [found] = await all(handler.find(ctx, query({ name: 'a' })));
    found!.network_service_endpoint!.url = 'x';
    const [again] = await all(handler.find(ctx, query({ name: 'a' })));
    expect(again!.network_service_endpoint).toEqual(nse('a', ['vpn'], { app: 'gw' }));
  });

  it('treats unregister of an unknown name as success and emits nothing', async () => {
    const element = memoryNseStore();
    const handler = toRegistryHandler([element]);
    const seen: NetworkServiceEndpointResponse[] = [];
    const sub = handler.find(ctx, query({}, true)).subscribe((r) => seen.push(r));
    await expect(handler.unregister(ctx, nse('ghost', ['vpn']))).resolves.toBeUndefined();
    expect(seen).toEqual([]);
    sub.unsubscribe();
  });

  it('watch: current matches first, then add, update and delete; unsubscribe releases the watcher', async () => {
    const element = memoryNseStore();
    const handler = toRegistryHandler([element]);
    await handler.register(ctx, nse('a', ['vpn'], { app: 'gw' }));
    await handler.register(ctx, nse('other', ['dns']));
    const seen: Array<[string, string, boolean]> = [];
    const sub = handler
      .find(ctx, query({ network_service_names: ['vpn'] }, true))
      .subscribe((r) =>
        seen.push([
          r.network_service_endpoint!.name,
          r.network_service_endpoint!.network_service_labels['vpn']?.labels['app'] ?? '',
          r.deleted,
        ]),
      );
    expect(element.store.watchers).toBe(1);
    expect(seen).toEqual([['a', 'gw', false]]);

    await handler.register(ctx, nse('b', ['vpn'], { app: 'fw' }));
    await handler.register(ctx, nse('c', ['dns'])); // does not match: not reported
    await handler.register(ctx, nse('a', ['vpn'], { app: 'gw2' }));
    await handler.unregister(ctx, nse('b', ['vpn']));
    expect(seen).toEqual([
      ['a', 'gw', false],
      ['b', 'fw', false],
      ['a', 'gw2', false],
      ['b', 'fw', true],
    ]);

    sub.unsubscribe();
    expect(element.store.watchers).toBe(0);
    await handler.register(ctx, nse('d', ['vpn']));
    expect(seen).toHaveLength(4);
  });

  it('a plain find continues down the chain after its own matches; a watch does not', async () => {
    const upstream = {
      ...registryTail<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse>(),
      find: () => of({ network_service_endpoint: nse('far', ['vpn']), deleted: false }),
    };
    const handler = toRegistryHandler([memoryNseStore()], upstream);
    await handler.register(ctx, nse('near', ['vpn']));
    expect(names(await all(handler.find(ctx, query())))).toEqual(['far', 'near']);
    const seen: string[] = [];
    const sub = handler
      .find(ctx, query({}, true))
      .subscribe((r) => seen.push(r.network_service_endpoint!.name));
    expect(seen).toEqual(['near']);
    sub.unsubscribe();
  });

  it('does not store a record when the rest of the chain rejects it', async () => {
    const failing = toRegistryHandler([memoryNseStore()], {
      register: () => Promise.reject(new Error('upstream down')),
      find: () => ({}) as never,
      unregister: () => Promise.resolve(),
    });
    await expect(failing.register(ctx, nse('a', ['vpn']))).rejects.toThrow('upstream down');
  });
});

describe('memoryNsStore', () => {
  const ns = (name: string, payload = 'IP'): NetworkService => ({ name, payload, matches: [], path_ids: [] });

  it('registers, finds by name and payload, watches and unregisters', async () => {
    const element = memoryNsStore();
    const handler = toRegistryHandler([element]);
    await handler.register(ctx, ns('db'));
    await handler.register(ctx, ns('l2', 'ETHERNET'));
    const find = (q: Partial<NetworkService>) =>
      all(handler.find(ctx, { network_service: { ...ns(''), payload: '', ...q }, watch: false })).then((rs) =>
        rs.map((r) => r.network_service!.name).sort(),
      );
    expect(await find({})).toEqual(['db', 'l2']);
    expect(await find({ name: 'db' })).toEqual(['db']);
    expect(await find({ payload: 'ETHERNET' })).toEqual(['l2']);

    const seen: Array<[string, string, boolean]> = [];
    const sub = handler
      .find(ctx, { network_service: null, watch: true })
      .subscribe((r) => seen.push([r.network_service!.name, r.network_service!.payload, r.deleted]));
    await handler.register(ctx, ns('db', 'ETHERNET'));
    await handler.unregister(ctx, ns('l2'));
    await handler.unregister(ctx, ns('unknown'));
    sub.unsubscribe();
    expect(element.store.watchers).toBe(0);
    expect(seen).toEqual([
      ['db', 'IP', false],
      ['l2', 'ETHERNET', false],
      ['db', 'ETHERNET', false],
      ['l2', 'ETHERNET', true],
    ]);
  });

  it('rejects a network service without a name', async () => {
    const handler = toRegistryHandler([memoryNsStore()]);
    await expect(handler.register(ctx, ns(''))).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringMatching(/empty name/) as string,
    });
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { fromTimestamp, newEndpoint } from '../api/builders.js';
import type { NetworkServiceEndpoint } from '../api/types.js';
import { FakeClock } from '../core/clock.js';
import { createContext, type Context } from '../core/context.js';
import { Code } from '../core/errors.js';
import type { NseHandler } from '../core/registry-chain.js';
import { createServer, type MeshServer } from '../grpc/server.js';
import { createManagerRegistry, createRegistryServer, type RegistryHandlers } from './chains.js';

const nse = (name: string, url: string): NetworkServiceEndpoint =>
  newEndpoint({ name, url, network_service_names: ['vpn'] });
const records = async (ctx: Context, handler: NseHandler): Promise<NetworkServiceEndpoint[]> =>
  (
    await firstValueFrom(handler.find(ctx, { network_service_endpoint: null, watch: false }).pipe(toArray()))
  ).map((r) => r.network_service_endpoint!);

describe('createRegistryServer', () => {
  it('validates, names, stamps, expires and stores', async () => {
    const clock = new FakeClock();
    const ctx = createContext({ clock });
    const registry = createRegistryServer({ defaultLifetimeMs: 10_000 });
    try {
      await expect(registry.nse.register(ctx, newEndpoint({ name: 'x' }))).rejects.toMatchObject({
        code: Code.INVALID_ARGUMENT,
      });
      const stored = await registry.nse.register(ctx, nse('', 'unix:///run/a.sock'));
      expect(stored.name).toMatch(/^nse-/);
      expect(fromTimestamp(stored.initial_registration_time)).toBe(clock.now());
      expect(fromTimestamp(stored.expiration_time)).toBe(clock.now() + 10_000);
      await clock.advance(10_000);
      expect(await records(ctx, registry.nse)).toEqual([]);
      await expect(
        registry.ns.register(ctx, { name: '', payload: '', matches: [], path_ids: [] }),
      ).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    } finally {
      registry.close();
    }
  });
});

describe('createManagerRegistry', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('embedded: labels local NSEs with the node and bypasses the manager URL', async () => {
    const ctx = createContext();
    const manager = createManagerRegistry({
      managerUrl: 'tcp://10.0.0.1:5001',
      nodeName: 'node-1',
      clusterName: 'c1',
    });
    cleanups.push(() => manager.close());
    const out = await manager.nse.register(ctx, nse('a', 'unix:///run/a.sock'));
    expect(out.url).toBe('unix:///run/a.sock');
    expect(out.network_service_labels['vpn']?.labels).toEqual({ nodeName: 'node-1', clusterName: 'c1' });
    const [found] = await records(ctx, manager.nse);
    expect(found?.url).toBe('unix:///run/a.sock');
    await manager.nse.unregister(ctx, out);
    expect(await records(ctx, manager.nse)).toEqual([]);
  });

  it('rejects bad registrations before they leave the node', async () => {
    const seen: string[] = [];
    const manager = createManagerRegistry({
      managerUrl: 'tcp://10.0.0.1:5001',
      nodeName: 'node-1',
      upstream: {
        nse: {
          register: (_c, n) => (seen.push(n.name), Promise.resolve(n)),
          find: () => ({}) as never,
          unregister: () => Promise.resolve(),
        },
        ns: createRegistryServer().ns,
      },
    });
    await expect(manager.nse.register(createContext(), nse('a', 'http://bad'))).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
    });
    expect(seen).toEqual([]);
  });

  it('two managers share a remote registry over gRPC; each sees its own NSEs locally and the other via its manager', async () => {
    const ctx = createContext();
    const dir = mkdtempSync(join(tmpdir(), 'nsm-chains-'));
    const registry: RegistryHandlers = createRegistryServer();
    const server: MeshServer = createServer();
    server.serveEndpointRegistry(registry.nse);
    server.serveServiceRegistry(registry.ns);
    const [registryUrl] = (await server.listen([`unix://${dir}/registry.sock`])) as [string];
    cleanups.push(
      () => rmSync(dir, { recursive: true, force: true }),
      () => registry.close(),
      () => server.close(),
    );

    const m1 = createManagerRegistry({
      managerUrl: 'tcp://10.0.0.1:5001',
      nodeName: 'node-1',
      registryUrl,
    });
    const m2 = createManagerRegistry({
      managerUrl: 'tcp://10.0.0.2:5001',
      nodeName: 'node-2',
      registryUrl,
    });
    cleanups.push(
      () => m1.close(),
      () => m2.close(),
    );

    await m1.nse.register(ctx, nse('nse-1', 'unix:///run/nse-1.sock'));
    await m2.nse.register(ctx, nse('nse-2', 'unix:///run/nse-2.sock'));
    await m1.ns.register(ctx, { name: 'vpn', payload: 'IP', matches: [], path_ids: [] });

    const urlsFrom = async (handler: NseHandler): Promise<Record<string, string>> =>
      Object.fromEntries((await records(ctx, handler)).map((r) => [r.name, r.url]));
    expect(await urlsFrom(registry.nse)).toEqual({
      'nse-1': 'tcp://10.0.0.1:5001',
      'nse-2': 'tcp://10.0.0.2:5001',
    });
    expect(await urlsFrom(m1.nse)).toEqual({
      'nse-1': 'unix:///run/nse-1.sock',
      'nse-2': 'tcp://10.0.0.2:5001',
    });
    expect(await urlsFrom(m2.nse)).toEqual({
      'nse-1': 'tcp://10.0.0.1:5001',
      'nse-2': 'unix:///run/nse-2.sock',
    });
    const stored = (await records(ctx, registry.nse)).find((r) => r.name === 'nse-2');
    expect(stored?.network_service_labels['vpn']?.labels).toEqual({ nodeName: 'node-2' });
    const services = await firstValueFrom(
      m2.ns.find(ctx, { network_service: null, watch: false }).pipe(toArray()),
    );
    expect(services.map((r) => r.network_service!.name)).toEqual(['vpn']);
  });
});

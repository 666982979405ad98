import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newEndpoint } from '../../api/builders.js';
import { createContext, withValue, type Context } from '../../core/context.js';
import { Code } from '../../core/errors.js';
import { registryElement, toRegistryHandler, type NseElement } from '../../core/registry-chain.js';
import { kIncomingMetadata } from '../../grpc/call-metadata.js';
import { ClientPool } from '../../grpc/client.js';
import { createServer, type MeshServer } from '../../grpc/server.js';
import { createRegistryServer, type RegistryHandlers } from '../chains.js';
import { connectNs, connectNse } from './connect.js';
import { parseRegistryPath, registryPathOf, withRegistryHop } from './path.js';

/** A test double that remembers the registry path each call arrived with. */
function recordPaths(paths: string[]): NseElement {
  const seen = (ctx: Context): void => void paths.push(ctx.value(kIncomingMetadata)['path'] ?? '<none>');
  return registryElement({
    register: (ctx, nse, next) => (seen(ctx), next.register(ctx, nse)),
    find: (ctx, q, next) => (seen(ctx), next.find(ctx, q)),
    unregister: (ctx, nse, next) => (seen(ctx), next.unregister(ctx, nse)),
  });
}

describe('connectNse / connectNs over gRPC', () => {
  let dir: string;
  let server: MeshServer;
  let registry: RegistryHandlers;
  let pool: ClientPool;
  let url: string;
  const paths: string[] = [];
  const ctx = createContext();

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-connect-'));
    registry = createRegistryServer();
    server = createServer();
    server.serveEndpointRegistry(toRegistryHandler([recordPaths(paths)], registry.nse));
    server.serveServiceRegistry(registry.ns);
    [url] = (await server.listen([`unix://${dir}/registry.sock`])) as [string];
    pool = new ClientPool();
    paths.length = 0;
  });

  afterEach(async () => {
    pool.close();
    await server.close();
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards register, find and unregister, carrying the registry path', async () => {
    const remote = connectNse({ url, pool, name: 'nsmgr-1' });
    const nse = newEndpoint({ name: 'a', network_service_names: ['vpn'], url: 'unix:///run/a.sock' });
    const stored = await remote.register(ctx, nse);
    expect(stored.expiration_time).not.toBeNull();
    const found = await firstValueFrom(
      remote.find(ctx, { network_service_endpoint: null, watch: false }).pipe(toArray()),
    );
    expect(found.map((r) => r.network_service_endpoint!.name)).toEqual(['a']);
    await remote.unregister(ctx, nse);
    expect(paths).toHaveLength(3);
    for (const path of paths) {
      const segments = parseRegistryPath(path);
      expect(segments).toHaveLength(1);
      expect(segments[0]!.name).toBe('nsmgr-1');
      expect(segments[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('appends its hop to the path it received', async () => {
    const upstreamPath = JSON.stringify([{ name: 'nse-a', id: '1' }]);
    const incoming = withValue(ctx, kIncomingMetadata, { path: upstreamPath });
    await connectNse({ url, pool, name: 'nsmgr-1' }).register(
      incoming,
      newEndpoint({ name: 'a', network_service_names: ['vpn'] }),
    );
    expect(parseRegistryPath(paths[0]!).map((s) => s.name)).toEqual(['nse-a', 'nsmgr-1']);
  });

  it('rejects a malformed incoming path with INVALID_ARGUMENT, on every method', async () => {
    const bad = withValue(ctx, kIncomingMetadata, { path: '{not json' });
    const remote = connectNse({ url, pool });
    const nse = newEndpoint({ name: 'a', network_service_names: ['vpn'] });
    await expect(remote.register(bad, nse)).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringMatching(/not JSON/) as string,
    });
    await expect(remote.unregister(bad, nse)).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    await expect(
      firstValueFrom(remote.find(bad, { network_service_endpoint: null, watch: false })),
    ).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    expect(paths).toEqual([]);
  });

  it('forwards network service calls', async () => {
    const remote = connectNs({ url, pool });
    await remote.register(ctx, { name: 'vpn', payload: 'IP', matches: [], path_ids: [] });
    const found = await firstValueFrom(
      remote.find(ctx, { network_service: null, watch: false }).pipe(toArray()),
    );
    expect(found.map((r) => r.network_service!.name)).toEqual(['vpn']);
  });

  it('maps remote errors to NsmError codes', async () => {
    await expect(connectNse({ url, pool }).register(ctx, newEndpoint({ name: 'a' }))).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
    });
  });

  it('reports an unreachable registry as UNAVAILABLE', async () => {
    const remote = connectNse({ url: `unix://${dir}/nobody.sock`, pool });
    await expect(
      remote.register(ctx, newEndpoint({ name: 'a', network_service_names: ['vpn'] })),
    ).rejects.toMatchObject({ code: Code.UNAVAILABLE });
  });
});

describe('registry path helpers', () => {
  it('rejects shapes other than an array of {name, id}', () => {
    expect(() => parseRegistryPath('{"name":"a"}')).toThrow(/JSON array of \{name, id\}/);
    expect(() => parseRegistryPath('[{"name":1,"id":"x"}]')).toThrow(/JSON array/);
    expect(parseRegistryPath('[]')).toEqual([]);
  });

  it('prefers the outgoing path being built over the incoming one', () => {
    const ctx = withRegistryHop(
      withValue(createContext(), kIncomingMetadata, { path: '[{"name":"in","id":"1"}]' }),
      'hop-1',
    );
    expect(registryPathOf(withRegistryHop(ctx, 'hop-2')).map((s) => s.name)).toEqual([
      'in',
      'hop-1',
      'hop-2',
    ]);
  });
});

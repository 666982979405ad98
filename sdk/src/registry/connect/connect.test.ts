import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newEndpoint } from '../../api/builders.js';
import { createContext, type Context } from '../../core/context.js';
import { Code } from '../../core/errors.js';
import { registryElement, toRegistryHandler, type NseElement } from '../../core/registry-chain.js';
import { kIncomingMetadata } from '../../grpc/call-metadata.js';
import { ClientPool } from '../../grpc/client.js';
import { createServer, type MeshServer } from '../../grpc/server.js';
import { createRegistryServer, type RegistryHandlers } from '../chains.js';
import { connectNs, connectNse } from './connect.js';
import { parseRegistryPath, withRegistryPath } from '../path/path.js';

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

  it('forwards register, find and unregister, carrying the path this hop made', async () => {
    const remote = connectNse({ url, pool });
    const hop = withRegistryPath(ctx, { index: 1, segments: [{ token: 'a.b.c' }, { token: 'd.e.f' }] });
    const nse = newEndpoint({ name: 'a', network_service_names: ['vpn'], url: 'unix:///run/a.sock' });
    const stored = await remote.register(hop, nse);
    expect(stored.expiration_time).not.toBeNull();
    const found = await firstValueFrom(
      remote.find(ctx, { network_service_endpoint: null, watch: false }).pipe(toArray()),
    );
    expect(found.map((r) => r.network_service_endpoint!.name)).toEqual(['a']);
    await remote.unregister(hop, nse);
    expect(paths).toHaveLength(3);
    expect(parseRegistryPath(paths[0]!)).toEqual({
      index: 1,
      segments: [{ token: 'a.b.c' }, { token: 'd.e.f' }],
    });
    expect(paths[1]).toBe('<none>');
    expect(paths[2]).toBe(paths[0]);
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

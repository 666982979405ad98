import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newEndpoint } from '../../api/builders.js';
import type { NetworkServiceEndpoint } from '../../api/types.js';
import { FakeClock } from '../../core/clock.js';
import { createContext } from '../../core/context.js';
import type { NseHandler } from '../../core/registry-chain.js';
import { createServer, type MeshServer } from '../../grpc/server.js';
import { createManagerRegistry, createRegistryServer, type RegistryHandlers } from '../chains.js';
import { createRegistryClient, type RegistryClient } from './client.js';

const ctx = createContext();
const nse = (name: string): NetworkServiceEndpoint =>
  newEndpoint({ name, network_service_names: ['vpn'], url: `unix:///run/${name}.sock` });
const namesIn = async (handler: NseHandler, c = ctx): Promise<string[]> =>
  (await firstValueFrom(handler.find(c, { network_service_endpoint: null, watch: false }).pipe(toArray())))
    .map((r) => r.network_service_endpoint!.name)
    .sort();

/** A registry process stand-in: handlers served on a unix socket; `stop()` is the crash. */
async function startRegistry(socket: string): Promise<{ registry: RegistryHandlers; stop(): Promise<void> }> {
  const registry = createRegistryServer({ defaultLifetimeMs: 60_000 });
  const server: MeshServer = createServer();
  server.serveEndpointRegistry(registry.nse);
  server.serveServiceRegistry(registry.ns);
  await server.listen([`unix://${socket}`]);
  return {
    registry,
    async stop() {
      await server.close();
      registry.close();
    },
  };
}

describe('createRegistryClient', () => {
  let dir: string;
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-regclient-'));
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers, keeps the registration, and unregisters everything on close', async () => {
    const registry = createRegistryServer();
    cleanups.push(() => registry.close());
    const clock = new FakeClock();
    const client = createRegistryClient({ handlers: registry, refresh: { watch: false } });
    const c = createContext({ clock });
    const stored = await client.register(c, nse('a'));
    await client.register(c, nse('b'));
    expect(stored.name).toBe('a');
    await clock.advance(120_000);
    expect(await namesIn(registry.nse, c)).toEqual(['a', 'b']);
    await client.unregister(c, nse('b'));
    expect(await namesIn(registry.nse, c)).toEqual(['a']);
    await client.close(c);
    expect(await namesIn(registry.nse, c)).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('needs a url or handlers', () => {
    expect(() => createRegistryClient({})).toThrow(/needs a url or in-process handlers/);
  });

  it('re-registers when the registry process restarts on the same socket', async () => {
    const socket = join(dir, 'registry.sock');
    let running = await startRegistry(socket);
    cleanups.push(() => running.stop());
    const client: RegistryClient = createRegistryClient({ url: `unix://${socket}` });
    cleanups.push(() => client.close());
    await client.register(ctx, nse('a'));
    expect(await namesIn(running.registry.nse)).toEqual(['a']);

    await running.stop();
    running = await startRegistry(socket);
    expect(await namesIn(running.registry.nse)).toEqual([]);
    // The 60 s lifetime means no refresh is due: only the broken watch can bring it back.
    await vi.waitFor(async () => expect(await namesIn(running.registry.nse)).toEqual(['a']), {
      timeout: 8000,
      interval: 50,
    });
  });

  it('re-registers through its manager when the registry behind it restarts', async () => {
    const registrySocket = join(dir, 'registry.sock');
    let running = await startRegistry(registrySocket);
    cleanups.push(() => running.stop());
    const manager = createManagerRegistry({
      managerUrl: 'tcp://10.0.0.1:5001',
      nodeName: 'node-1',
      registryUrl: `unix://${registrySocket}`,
    });
    const managerServer = createServer();
    managerServer.serveEndpointRegistry(manager.nse);
    managerServer.serveServiceRegistry(manager.ns);
    const [managerUrl] = (await managerServer.listen([`unix://${join(dir, 'nsm.sock')}`])) as [string];
    cleanups.push(
      () => manager.close(),
      () => managerServer.close(),
    );

    const client = createRegistryClient({ url: managerUrl, name: 'nse-a' });
    cleanups.push(() => client.close());
    const stored = await client.register(ctx, nse('a'));
    expect(stored.url).toBe('unix:///run/a.sock');

    await running.stop();
    running = await startRegistry(registrySocket);
    await vi.waitFor(async () => expect(await namesIn(running.registry.nse)).toEqual(['a']), {
      timeout: 8000,
      interval: 50,
    });
    const [record] = await firstValueFrom(
      running.registry.nse.find(ctx, { network_service_endpoint: null, watch: false }).pipe(toArray()),
    );
    expect(record?.network_service_endpoint?.url).toBe('tcp://10.0.0.1:5001');
  });
});

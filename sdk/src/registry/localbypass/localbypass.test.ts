import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { newEndpoint } from '../../api/builders.js';
import type { NetworkServiceEndpoint } from '../../api/types.js';
import { createContext, type Context } from '../../core/context.js';
import { Code } from '../../core/errors.js';
import { toRegistryHandler, type NseHandler } from '../../core/registry-chain.js';
import { memoryNseStore } from '../memory/memory.js';
import { localBypass } from './localbypass.js';

const managerUrl = 'tcp://10.0.0.1:5001';
const ctx = createContext();
const nse = (name: string, url: string): NetworkServiceEndpoint =>
  newEndpoint({ name, url, network_service_names: ['vpn'] });
const urls = async (c: Context, handler: NseHandler): Promise<Record<string, string>> =>
  Object.fromEntries(
    (
      await firstValueFrom(handler.find(c, { network_service_endpoint: null, watch: false }).pipe(toArray()))
    ).map((r) => [r.network_service_endpoint!.name, r.network_service_endpoint!.url]),
  );

function setup(): { upstream: NseHandler; manager: NseHandler; bypass: ReturnType<typeof localBypass> } {
  const upstream = toRegistryHandler([memoryNseStore()]);
  const bypass = localBypass({ managerUrl });
  return { upstream, bypass, manager: toRegistryHandler([bypass], upstream) };
}

describe('localBypass', () => {
  it('rewrites the watch event that the registry sends before register returns', async () => {
    const { manager } = setup();
    const seen: string[] = [];
    const sub = manager
      .find(ctx, { network_service_endpoint: null, watch: true })
      .subscribe((r) => seen.push(r.network_service_endpoint!.url));
    await manager.register(ctx, nse('local', 'unix:///run/nse.sock'));
    sub.unsubscribe();
    expect(seen).toEqual(['unix:///run/nse.sock']);
  });

  it('registers a local NSE upstream under the manager URL and answers with its own URL', async () => {
    const { upstream, manager, bypass } = setup();
    const out = await manager.register(ctx, nse('local', 'unix:///run/nse.sock'));
    expect(out.url).toBe('unix:///run/nse.sock');
    expect(await urls(ctx, upstream)).toEqual({ local: managerUrl });
    expect(bypass.local.get('local')).toBe('unix:///run/nse.sock');
  });

  it('rewrites the manager URL of local NSEs back on Find and leaves remote NSEs alone', async () => {
    const { upstream, manager } = setup();
    await manager.register(ctx, nse('local', 'unix:///run/nse.sock'));
    await upstream.register(ctx, nse('remote', 'tcp://10.0.0.2:5001'));
    expect(await urls(ctx, manager)).toEqual({
      local: 'unix:///run/nse.sock',
      remote: 'tcp://10.0.0.2:5001',
    });
  });

  it('drops records naming this manager that are not local (stale after a restart)', async () => {
    const { upstream, manager } = setup();
    await upstream.register(ctx, nse('stale', managerUrl));
    expect(await urls(ctx, manager)).toEqual({});
  });

  it('rewrites watch events, including the deletion of a local NSE', async () => {
    const { manager } = setup();
    await manager.register(ctx, nse('local', 'unix:///run/nse.sock'));
    const seen: Array<[string, boolean]> = [];
    const sub = manager
      .find(ctx, { network_service_endpoint: null, watch: true })
      .subscribe((r) => seen.push([r.network_service_endpoint!.url, r.deleted]));
    await manager.register(ctx, nse('local', 'unix:///run/nse.sock'));
    await manager.unregister(ctx, nse('local', 'unix:///run/nse.sock'));
    sub.unsubscribe();
    expect(seen[0]).toEqual(['unix:///run/nse.sock', false]);
    expect(seen[1]).toEqual(['unix:///run/nse.sock', false]);
    // The deletion arrives before the name is forgotten, so it carries the real URL too.
    expect(seen[2]).toEqual(['unix:///run/nse.sock', true]);
  });

  it('unregisters upstream with the manager URL and forgets the NSE', async () => {
    const { upstream, manager, bypass } = setup();
    await manager.register(ctx, nse('local', 'unix:///run/nse.sock'));
    await manager.unregister(ctx, nse('local', 'unix:///run/nse.sock'));
    expect(await urls(ctx, upstream)).toEqual({});
    expect(bypass.local.size).toBe(0);
  });

  it('remembers nothing when the upstream registration fails', async () => {
    const bypass = localBypass({ managerUrl });
    const manager = toRegistryHandler([bypass], {
      register: () => Promise.reject(new Error('registry down')),
      find: () => ({}) as never,
      unregister: () => Promise.resolve(),
    });
    await expect(manager.register(ctx, nse('local', 'unix:///run/nse.sock'))).rejects.toThrow(
      'registry down',
    );
    expect(bypass.local.size).toBe(0);
  });

  it('refuses an NSE without a URL or with an unusable one, as upstream, registering nothing', async () => {
    const { upstream, manager, bypass } = setup();
    await expect(manager.register(ctx, nse('nourl', ''))).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message:
        'cannot register NSE "nourl" with an empty URL: expected the unix:// or tcp:// URL it serves on',
    });
    await expect(manager.register(ctx, nse('bad', 'http://x'))).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringContaining('cannot register NSE "bad" with URL "http://x": bad URL') as string,
    });
    expect(await urls(ctx, upstream)).toEqual({});
    expect(bypass.local.size).toBe(0);
  });
});

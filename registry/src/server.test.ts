import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fromTimestamp, newEndpoint } from '@nsm-ts/sdk/api';
import type { NetworkServiceEndpoint } from '@nsm-ts/sdk/api';
import { FakeClock } from '@nsm-ts/sdk/core';
import { createContext } from '@nsm-ts/sdk/core';
import { Code } from '@nsm-ts/sdk/core';
import { silentLogger } from '@nsm-ts/sdk/core';
import type { NetworkServiceEndpointResponse } from '@nsm-ts/sdk/core';
import { dial, type MeshClient } from '@nsm-ts/sdk/grpc';
import { parseRegistryConfig } from './config.js';
import { startRegistry, type RunningRegistry } from './server.js';

const nse = (name: string, app = 'gw'): NetworkServiceEndpoint =>
  newEndpoint({
    name,
    url: `unix:///run/${name}.sock`,
    network_service_names: ['vpn'],
    network_service_labels: { vpn: { labels: { app } } },
  });

describe('registry daemon wiring over gRPC', () => {
  let dir: string;
  let running: RunningRegistry | undefined;
  let client: MeshClient | undefined;
  let clock: FakeClock;
  const ctx = createContext();

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-registry-'));
    clock = new FakeClock();
    const config = parseRegistryConfig({
      NSM_LISTEN_ON: `unix://${dir}/registry.sock,tcp://127.0.0.1:0`,
      NSM_EXPIRE_PERIOD: '30s',
      // The wiring only; mTLS and the policies are proven in test/security.
      NSM_INSECURE: 'true',
    });
    running = await startRegistry(config, { log: silentLogger, clock });
    client = dial(running.urls[0]!);
  });

  afterEach(async () => {
    client?.close();
    await running?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('binds every configured URL, filling in tcp ports', () => {
    expect(running!.urls[0]).toBe(`unix://${dir}/registry.sock`);
    expect(running!.urls[1]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(running!.urls[1]).not.toMatch(/:0$/);
  });

  it('registers, finds, watches and unregisters NSEs', async () => {
    const reg = client!.endpointRegistry;
    const stored = await reg.register(ctx, nse('a'));
    expect(fromTimestamp(stored.expiration_time)).toBe(clock.now() + 30_000);
    expect(fromTimestamp(stored.initial_registration_time)).toBe(clock.now());

    const events: Array<[string, boolean]> = [];
    const sub = reg
      .find(ctx, { network_service_endpoint: newEndpoint({ network_service_names: ['vpn'] }), watch: true })
      .subscribe((r: NetworkServiceEndpointResponse) =>
        events.push([r.network_service_endpoint!.name, r.deleted]),
      );
    await vi.waitFor(() => expect(events).toEqual([['a', false]]));

    await reg.register(ctx, nse('b', 'fw'));
    const found = await firstValueFrom(
      reg
        .find(ctx, {
          network_service_endpoint: newEndpoint({
            network_service_labels: { vpn: { labels: { app: 'fw' } } },
          }),
          watch: false,
        })
        .pipe(toArray()),
    );
    expect(found.map((r) => r.network_service_endpoint!.name)).toEqual(['b']);

    await reg.unregister(ctx, nse('a'));
    await vi.waitFor(() =>
      expect(events).toEqual([
        ['a', false],
        ['b', false],
        ['a', true],
      ]),
    );
    sub.unsubscribe();
  });

  it('expires unrefreshed NSEs on the configured period and tells watchers', async () => {
    const reg = client!.endpointRegistry;
    await reg.register(ctx, nse('a'));
    const events: boolean[] = [];
    const sub = reg
      .find(ctx, { network_service_endpoint: null, watch: true })
      .subscribe((r) => events.push(r.deleted));
    await vi.waitFor(() => expect(events).toEqual([false]));
    await clock.advance(30_000);
    await vi.waitFor(() => expect(events).toEqual([false, true]));
    sub.unsubscribe();
  });

  it('serves network services too', async () => {
    const reg = client!.serviceRegistry;
    await reg.register(ctx, { name: 'vpn', payload: 'IP', matches: [], path_ids: [] });
    const found = await firstValueFrom(
      reg.find(ctx, { network_service: null, watch: false }).pipe(toArray()),
    );
    expect(found.map((r) => r.network_service!.name)).toEqual(['vpn']);
    await reg.unregister(ctx, { name: 'vpn', payload: '', matches: [], path_ids: [] });
  });

  it('answers bad input with INVALID_ARGUMENT and tolerates unknown unregisters', async () => {
    const reg = client!.endpointRegistry;
    await expect(reg.register(ctx, newEndpoint({ name: 'x' }))).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringMatching(/lists no network_service_names/) as string,
    });
    // Labels are stored as they come, as upstream does: the Kubernetes rules are for YAML.
    const odd = {
      greeting: 'hello world',
      ...Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])),
    };
    const stored = await reg.register(
      ctx,
      newEndpoint({
        name: 'odd',
        network_service_names: ['vpn'],
        network_service_labels: { vpn: { labels: odd } },
      }),
    );
    expect(stored.network_service_labels['vpn']?.labels).toEqual(odd);
    await reg.unregister(ctx, stored);
    await expect(reg.unregister(ctx, nse('never-registered'))).resolves.toBeUndefined();
    await expect(
      client!.serviceRegistry.register(ctx, { name: '', payload: '', matches: [], path_ids: [] }),
    ).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
  });

  it('gives an unnamed NSE a generated name over the wire', async () => {
    const stored = await client!.endpointRegistry.register(ctx, nse(''));
    expect(stored.name).toMatch(/^nse-/);
  });
});

describe('startRegistry', () => {
  it('fails cleanly when it cannot listen', async () => {
    const config = parseRegistryConfig({
      NSM_LISTEN_ON: 'unix:///nonexistent-dir/for/sure/registry.sock',
      NSM_INSECURE: 'true',
    });
    await expect(startRegistry(config, { log: silentLogger })).rejects.toThrow();
  });
});

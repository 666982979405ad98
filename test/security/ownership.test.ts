/**
 * What belongs to whom: a connection to the client that opened it (tokens_ownership), an endpoint or
 * service name to its first registrant (registry_client_allowed), monitor events to the caller that
 * requested the connections (monitor_connections); and a process with a certificate of another CA, or
 * none, gets nowhere on any port of the mesh.
 */
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clone, newEndpoint } from '@nsm-ts/sdk/api';
import type { Connection, NetworkServiceEndpoint } from '@nsm-ts/sdk/api';
import { Code, NsmError, createContext } from '@nsm-ts/sdk/core';
import { dial, type MeshClient } from '@nsm-ts/sdk/grpc';
import type { Identity } from '@nsm-ts/sdk/security';
import { createMesh, type Mesh } from '../../bench/src/mesh/mesh.js';
import { MeshPki } from '../../bench/src/mesh/pki.js';
import { registerService } from '../../bench/src/mesh/services.js';

let mesh: Mesh;
let alice: Identity;
let bob: Identity;
let endpointUrl: string;

beforeAll(async () => {
  mesh = await createMesh({ nodes: 1 });
  await registerService(mesh, { name: 'svc' });
  endpointUrl = (await mesh.endpoint(1, { name: 'nse-a', serviceNames: ['svc'], cidrPrefix: '10.81.0.0/24' }))
    .url;
  alice = await mesh.pki!.identity(['ns', 'default', 'pod', 'alice']);
  bob = await mesh.pki!.identity(['ns', 'default', 'pod', 'bob']);
}, 30_000);

afterAll(async () => {
  await mesh.close();
});

const ctx = () => createContext({ deadline: Date.now() + 5000 });

async function failure(p: Promise<unknown>): Promise<NsmError | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return NsmError.from(err);
  }
}

async function using<T>(client: MeshClient, fn: (c: MeshClient) => Promise<T>): Promise<T> {
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

describe('tokens_ownership', () => {
  it("a client cannot close or refresh another client's connection; the owner still can", async () => {
    const a = mesh.client(1, { name: 'alice', identity: alice });
    const conn = await a.request({ networkService: 'svc', mechanisms: ['NOOP'] });
    const manager = mesh.node(1).managerUrl;
    const asBob = async (op: 'close' | 'request'): Promise<NsmError | undefined> =>
      using(mesh.dialAs(bob, manager), (c) =>
        failure(
          op === 'close'
            ? c.networkService.close(ctx(), clone(conn))
            : c.networkService.request(ctx(), { connection: clone(conn), mechanism_preferences: [] }),
        ),
      );
    for (const op of ['close', 'request'] as const) {
      const err = await asBob(op);
      expect(err?.code, err?.message).toBe(Code.PERMISSION_DENIED);
      expect(err?.message).toMatch(
        new RegExp(
          `^tokens_ownership: connection .* belongs to spiffe://nsm.test/ns/default/pod/alice; spiffe://nsm.test/ns/default/pod/bob may not ${op === 'close' ? 'close' : 'refresh'} it`,
        ),
      );
    }
    // Nothing happened to it: Alice refreshes and closes as usual.
    const fresh = await a.refresh(conn);
    expect(fresh.network_service_endpoint_name).toBe('nse-a');
    await a.close(fresh);
    await a.shutdown();
  });
});

describe('registry_client_allowed', () => {
  const record = (url: string): NetworkServiceEndpoint =>
    newEndpoint({ name: 'owned', network_service_names: ['svc'], url });

  it.each([
    ['the manager', () => mesh.node(1).managerUrl],
    ['the registry', () => mesh.registryUrl],
  ])(
    'an endpoint name registered by A cannot be overwritten or unregistered by B (at %s)',
    async (_where, url) => {
      await using(mesh.dialAs(alice, url()), async (asAlice) => {
        const stored = await asAlice.endpointRegistry.register(ctx(), record('unix:///tmp/alice.sock'));
        expect(stored.path_ids[0]).toBe('spiffe://nsm.test/ns/default/pod/alice');
        await using(mesh.dialAs(bob, url()), async (asBob) => {
          const overwrite = await failure(
            asBob.endpointRegistry.register(ctx(), record('unix:///tmp/bob.sock')),
          );
          expect(overwrite?.code).toBe(Code.PERMISSION_DENIED);
          expect(overwrite?.message).toBe(
            'registry_client_allowed: network service endpoint "owned" is registered by ' +
              'spiffe://nsm.test/ns/default/pod/alice; spiffe://nsm.test/ns/default/pod/bob may not update it',
          );
          const remove = await failure(asBob.endpointRegistry.unregister(ctx(), stored));
          expect(remove?.message).toMatch(/^registry_client_allowed: .* may not unregister it$/);
        });
        // Still Alice's, at Alice's URL.
        const found = await lastValueFrom(
          asAlice.endpointRegistry
            .find(ctx(), { network_service_endpoint: newEndpoint({ name: 'owned' }), watch: false })
            .pipe(toArray()),
        );
        expect(found.map((r) => r.network_service_endpoint?.url)).toEqual(['unix:///tmp/alice.sock']);
        await asAlice.endpointRegistry.register(ctx(), record('unix:///tmp/alice-2.sock'));
        await asAlice.endpointRegistry.unregister(ctx(), stored);
      });
    },
  );

  it('a service name belongs to its first registrant; the operator may clean up any record', async () => {
    await using(mesh.dialAs(alice, mesh.registryUrl), async (asAlice) => {
      await asAlice.serviceRegistry.register(ctx(), {
        name: 'alices',
        payload: '',
        matches: [],
        path_ids: [],
      });
      const err = await using(mesh.dialAs(bob, mesh.registryUrl), (asBob) =>
        failure(
          asBob.serviceRegistry.register(ctx(), {
            name: 'alices',
            payload: 'ETHERNET',
            matches: [],
            path_ids: [],
          }),
        ),
      );
      expect(err?.message).toMatch(
        /^registry_client_allowed: network service "alices" is registered by .*alice/,
      );
      // The lab's `nsm delete` removes records of pods killed without unregistering: operators may.
      await using(mesh.dial(mesh.registryUrl), (operator) =>
        operator.serviceRegistry.unregister(ctx(), {
          name: 'alices',
          payload: '',
          matches: [],
          path_ids: [],
        }),
      );
    });
  });
});

describe('monitor_connections', () => {
  it("a caller sees only the connections it requested, and may not select another's", async () => {
    const a = mesh.client(1, { name: 'alice-m', identity: alice });
    const conn: Connection = await a.request({ networkService: 'svc', mechanisms: ['NOOP'] });
    const manager = mesh.node(1).managerUrl;
    try {
      const mine = await using(mesh.dialAs(alice, manager), (c) =>
        firstValueFrom(c.monitor(ctx(), { path_segments: [], network_services: [] }).pipe(take(1))),
      );
      expect(Object.keys(mine.connections)).toHaveLength(1);
      const bobs = await using(mesh.dialAs(bob, manager), (c) =>
        firstValueFrom(c.monitor(ctx(), { path_segments: [], network_services: [] }).pipe(take(1))),
      );
      expect(bobs).toEqual({ type: 'INITIAL_STATE_TRANSFER', connections: {} });
      const managerSegment = conn.path!.path_segments[1]!;
      const err = await using(mesh.dialAs(bob, manager), (c) =>
        failure(firstValueFrom(c.monitor(ctx(), { path_segments: [managerSegment], network_services: [] }))),
      );
      expect(err?.code).toBe(Code.PERMISSION_DENIED);
      expect(err?.message).toMatch(
        /^monitor_connections: spiffe:\/\/nsm.test\/ns\/default\/pod\/bob may monitor only/,
      );
      // The operator sees everything.
      const all = await using(mesh.dial(manager), (c) =>
        firstValueFrom(c.monitor(ctx(), { path_segments: [], network_services: [] }).pipe(take(1))),
      );
      expect(Object.keys(all.connections).length).toBeGreaterThanOrEqual(1);
    } finally {
      await a.shutdown();
    }
  });
});

describe('a rogue process', () => {
  it('with its own CA, or no certificate, is refused on every port of the mesh', async () => {
    const rogueCa = await MeshPki.create('nsm.test');
    const rogue = await rogueCa.identity(['nsmgr', 'node-1']);
    const ports = [
      mesh.registryUrl,
      mesh.node(1).managerUrl,
      mesh.node(1).managerTcpUrl,
      mesh.node(1).forwarderUrl,
      endpointUrl,
    ];
    for (const url of ports) {
      for (const client of [
        mesh.dialAs(rogue, url, { dialTimeoutMs: 300 }),
        dial(url, { dialTimeoutMs: 300 }),
      ]) {
        const err = await using(client, (c) =>
          failure(
            c.endpointRegistry.register(
              ctx(),
              newEndpoint({ name: 'rogue', network_service_names: ['svc'], url: 'unix:///tmp/r.sock' }),
            ),
          ),
        );
        expect(err?.code, `${url}: ${err?.message}`).toBe(Code.UNAVAILABLE);
        expect(err?.message).toMatch(/cannot connect to .* within 300 ms: .+/);
      }
    }
  });
});

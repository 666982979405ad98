/**
 * Bad requests reach real daemons over gRPC: each gets a clear error with the right status code, and
 * the mesh keeps working afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMechanism, newRequest } from '@nsm-ts/sdk/api';
import { createContext } from '@nsm-ts/sdk/core';
import { Code, NsmError } from '@nsm-ts/sdk/core';
import { dial, type MeshClient } from '@nsm-ts/sdk/grpc';
import { createMesh, type Mesh } from '../../bench/src/mesh/mesh.js';
import { registerService } from '../../bench/src/mesh/services.js';

let mesh: Mesh;
let manager: MeshClient;

beforeAll(async () => {
  mesh = await createMesh({ nodes: 1 });
  await registerService(mesh, {
    name: 'db',
    matches: [
      {
        source_selector: { app: 'web' },
        routes: [{ destination_selector: { app: 'db' }, weight: 0 }],
        fallthrough: false,
        metadata: null,
      },
    ],
  });
  await mesh.endpoint(1, {
    name: 'db-1',
    serviceNames: ['db'],
    labels: { app: 'db' },
    cidrPrefix: '10.70.0.0/24',
  });
  manager = mesh.dial(mesh.node(1).managerUrl);
});

afterAll(async () => {
  manager.close();
  await mesh.close();
});

async function requestError(
  labels: Record<string, string>,
  init: { service?: string; type?: string } = {},
): Promise<NsmError> {
  const req = newRequest({ id: `bad-${Math.random()}`, network_service: init.service ?? 'db', labels }, [
    newMechanism(init.type ?? 'NOOP', 'LOCAL'),
  ]);
  try {
    await manager.networkService.request(createContext({ deadline: Date.now() + 5000 }), req);
  } catch (err) {
    return NsmError.from(err);
  }
  throw new Error('the request was expected to fail');
}

async function stillHealthy(): Promise<void> {
  const ctx = createContext();
  expect(await manager.health(ctx)).toBe('SERVING');
  const client = mesh.client(1, { name: 'web' });
  const conn = await client.request({ networkService: 'db', labels: { app: 'web' }, mechanisms: ['NOOP'] });
  expect(conn.network_service_endpoint_name).toBe('db-1');
  await client.shutdown();
}

describe('bad requests', () => {
  it('unknown network service → NOT_FOUND naming it', async () => {
    const err = await requestError({ app: 'web' }, { service: 'no-such-service' });
    expect(err.code).toBe(Code.NOT_FOUND);
    expect(err.message).toContain('network service "no-such-service" is not found');
    await stillHealthy();
  });

  it('labels no source selector matches → NOT_FOUND naming service, labels and selectors', async () => {
    const err = await requestError({ app: 'mail' });
    expect(err.code).toBe(Code.NOT_FOUND);
    expect(err.message).toMatch(/network service "db".*app=mail.*app=web/);
    await stillHealthy();
  });

  it('labels the Kubernetes rules refuse are accepted on the wire, as upstream: they match no selector', async () => {
    // `hello world` or `bad key!` are not Kubernetes labels, but upstream takes any map on the wire; here
    // they only fail to match the source selector, with the usual NOT_FOUND.
    const err = await requestError({ 'bad key!': 'hello world' });
    expect(err.code).toBe(Code.NOT_FOUND);
    expect(err.message).toMatch(/network service "db".*bad key!=hello world/);
    const client = mesh.client(1, { name: 'web-odd' });
    const conn = await client.request({
      networkService: 'db',
      labels: { app: 'web', greeting: 'hello world' },
      mechanisms: ['NOOP'],
    });
    expect(conn.labels['greeting']).toBe('hello world');
    await client.shutdown();
    await stillHealthy();
  });

  it('unknown mechanism → UNIMPLEMENTED naming what was offered and what is supported', async () => {
    const err = await requestError({ app: 'web' }, { type: 'WIREGUARD' });
    expect(err.code).toBe(Code.UNIMPLEMENTED);
    expect(err.message).toMatch(/WIREGUARD.*NOOP/);
    await stillHealthy();
  });

  it('an oversized request → RESOURCE_EXHAUSTED, and nothing else breaks', async () => {
    const err = await requestError({ app: 'web', big: 'x'.repeat(5 * 1024 * 1024) });
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    await stillHealthy();
  });

  it('an endpoint with an invalid CIDR fails to start with a clear error and registers nothing', async () => {
    await expect(
      mesh.endpoint(1, {
        name: 'broken',
        serviceNames: ['db'],
        labels: { app: 'db' },
        cidrPrefix: '10.0.0.0/33',
      }),
    ).rejects.toThrow(/invalid CIDR "10.0.0.0\/33"/);
    const found: string[] = [];
    const ctx = createContext({ deadline: Date.now() + 2000 });
    await new Promise<void>((resolve, reject) =>
      manager.endpointRegistry.find(ctx, { network_service_endpoint: null, watch: false }).subscribe({
        next: (r) => found.push(r.network_service_endpoint?.name ?? ''),
        error: reject,
        complete: resolve,
      }),
    );
    expect(found).not.toContain('broken');
    await stillHealthy();
  });

  it('a request to a bad URL fails with the URL and the accepted forms', () => {
    expect(() => dial('http://localhost:1')).toThrow(/bad URL "http:\/\/localhost:1".*unix:\/\/\/.*tcp:\/\//);
  });
});

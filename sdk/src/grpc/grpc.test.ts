/** The gRPC boundary: real servers on a unix socket and loopback TCP. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, Observable, throwError, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newConnection, newRequest } from '../api/builders.js';
import type { NetworkServiceHandler } from '../core/chain.js';
import { createContext, withTimeout } from '../core/context.js';
import { Code, NsmError } from '../core/errors.js';
import { registryElement, toRegistryHandler } from '../core/registry-chain.js';
import type { NetworkServiceEndpointQuery, NetworkServiceEndpointResponse } from '../core/registry-chain.js';
import type { NetworkServiceEndpoint } from '../api/types.js';
import { kIncomingMetadata, withOutgoingMetadata } from './call-metadata.js';
import { dial, type MeshClient } from './client.js';
import { createServer, type MeshServer } from './server.js';

let dir: string;
let server: MeshServer;
let clients: MeshClient[];
let seen: { deadline?: number; metadata?: Record<string, string>; aborted?: Promise<void> };

const handler: NetworkServiceHandler = {
  async request(ctx, req) {
    seen = {
      metadata: { ...ctx.value(kIncomingMetadata) },
      ...(ctx.deadline ? { deadline: ctx.deadline } : {}),
    };
    const conn = req.connection!;
    if (conn.network_service === 'fail')
      throw new NsmError(Code.NOT_FOUND, 'network service "fail" is not found');
    if (conn.network_service === 'crash') throw new Error('boom');
    if (conn.network_service === 'further')
      throw new NsmError(Code.UNAVAILABLE, 'unix:///next.sock is unavailable: no socket /next.sock');
    if (conn.network_service === 'hang') {
      seen.aborted = new Promise((resolve) =>
        ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      await seen.aborted;
    }
    return { ...conn, id: 'answered' };
  },
  close: () => Promise.resolve(),
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsm-grpc-'));
  server = createServer();
  clients = [];
  seen = {};
});

afterEach(async () => {
  for (const c of clients) c.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(): Promise<{ unix: MeshClient; tcp: MeshClient }> {
  server.serveNetworkService(handler);
  const [unixUrl, tcpUrl] = await server.listen([`unix://${join(dir, 's.sock')}`, 'tcp://127.0.0.1:0']);
  expect(tcpUrl).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
  clients.push(dial(unixUrl!), dial(tcpUrl!));
  return { unix: clients[0]!, tcp: clients[1]! };
}

describe('gRPC boundary', () => {
  it('answers requests over unix sockets and TCP, with health', async () => {
    const { unix, tcp } = await serve();
    for (const c of [unix, tcp]) {
      const conn = await c.networkService.request(createContext(), newRequest({ network_service: 'ok' }));
      expect(conn.id).toBe('answered');
      expect(await c.health(createContext())).toBe('SERVING');
      expect(await c.health(createContext(), 'networkservice.NetworkService')).toBe('SERVING');
    }
  });

  it('carries the deadline and outgoing metadata to the server', async () => {
    const { unix } = await serve();
    const { ctx, cancel } = withTimeout(createContext(), 5000);
    await unix.networkService.request(
      withOutgoingMetadata(ctx, { 'nsm-client-token': 'abc' }),
      newRequest({ network_service: 'ok' }),
    );
    cancel();
    expect(seen.metadata?.['nsm-client-token']).toBe('abc');
    expect(seen.deadline).toBeGreaterThan(Date.now());
    expect(seen.deadline).toBeLessThanOrEqual(ctx.deadline! + 5);
  });

  it('maps chain errors to gRPC statuses and back', async () => {
    const { tcp } = await serve();
    const err = await tcp.networkService
      .request(createContext(), newRequest({ network_service: 'fail' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NsmError);
    expect((err as NsmError).code).toBe(Code.NOT_FOUND);
    expect((err as NsmError).message).toBe('network service "fail" is not found');
    const crash = (await tcp.networkService
      .request(createContext(), newRequest({ network_service: 'crash' }))
      .catch((e: unknown) => e)) as NsmError;
    expect(crash.code).toBe(Code.UNKNOWN);
    expect(crash.message).toBe('boom');
  });

  it('passes on an UNAVAILABLE the server answered without calling the server unavailable', async () => {
    const { tcp } = await serve();
    const err = (await tcp.networkService
      .request(createContext(), newRequest({ network_service: 'further' }))
      .catch((e: unknown) => e)) as NsmError;
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toBe('unix:///next.sock is unavailable: no socket /next.sock');
  });

  it('cancels the server side when the caller gives up', async () => {
    const { unix } = await serve();
    const { ctx, cancel } = withTimeout(createContext(), 200);
    const err = (await unix.networkService
      .request(ctx, newRequest({ network_service: 'hang' }))
      .catch((e: unknown) => e)) as NsmError;
    cancel();
    expect([Code.DEADLINE_EXCEEDED, Code.CANCELLED]).toContain(err.code);
    await seen.aborted; // resolves only if the server's context was aborted
  });

  it('delivers a stream error to the caller with its code', async () => {
    const failing = registryElement<
      NetworkServiceEndpoint,
      NetworkServiceEndpointQuery,
      NetworkServiceEndpointResponse
    >({
      find: () => throwError(() => new NsmError(Code.UNAVAILABLE, 'upstream registry is gone')),
    });
    server.serveEndpointRegistry(toRegistryHandler([failing]));
    const [url] = await server.listen([`unix://${join(dir, 'r.sock')}`]);
    const client = dial(url!);
    clients.push(client);
    const err = (await lastValueFrom(
      client.endpointRegistry
        .find(createContext(), { network_service_endpoint: null, watch: true })
        .pipe(toArray()),
    ).catch((e: unknown) => e)) as NsmError;
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toContain('upstream registry is gone');
  });

  it('ends open streams when the server closes', async () => {
    let opened = (): void => undefined;
    const streaming = new Promise<void>((resolve) => (opened = resolve));
    server.serveEndpointRegistry(
      toRegistryHandler([
        registryElement({
          find: () =>
            new Observable<NetworkServiceEndpointResponse>(() => {
              opened(); // the server is serving the stream now
            }),
        }),
      ]),
    );
    const [url] = await server.listen([`unix://${join(dir, 'r.sock')}`]);
    const client = dial(url!);
    clients.push(client);
    const ended = lastValueFrom(
      client.endpointRegistry
        .find(createContext(), { network_service_endpoint: null, watch: true })
        .pipe(toArray()),
    );
    await streaming;
    await server.close();
    await expect(ended).resolves.toEqual([]);
  });

  it('fails fast with UNAVAILABLE naming the URL when nothing listens', async () => {
    const client = dial(`unix://${join(dir, 'nobody.sock')}`, { dialTimeoutMs: 200 });
    clients.push(client);
    const err = (await client.networkService
      .request(createContext(), newRequest(newConnection({ network_service: 'x' })))
      .catch((e: unknown) => e)) as NsmError;
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toContain('nobody.sock');
  });

  it('says which hop is unavailable when a TCP server does not answer', async () => {
    const { tcp } = await serve();
    await server.close();
    const err = (await tcp.networkService
      .request(createContext(), newRequest(newConnection({ network_service: 'x' })))
      .catch((e: unknown) => e)) as NsmError;
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toMatch(/tcp:\/\/127\.0\.0\.1:\d+/);
  });
});

/**
 * Tracing across processes: a client, a hop and an endpoint, each with a tracer of its own, over real
 * gRPC on loopback. The trace context goes in the calls' metadata; the spans form one tree.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { newConnection, newMechanism, newRequest } from '../api/builders.js';
import type { Connection } from '../api/types.js';
import { managerHop } from '../chains/client.js';
import { createEndpointChain } from '../chains/endpoint.js';
import { element, named, toHandler, type NetworkServiceHandler } from '../core/chain.js';
import { createContext, withTimeout, type Context } from '../core/context.js';
import { Code, NsmError } from '../core/errors.js';
import { combineInstruments } from '../core/instruments.js';
import { metadata } from '../core/metadata.js';
import { ClientPool, dial } from '../grpc/client.js';
import { withOutgoingMetadata } from '../grpc/call-metadata.js';
import { createServer, type MeshServer } from '../grpc/server.js';
import { chainMetrics } from '../metrics/chain.js';
import { Registry } from 'prom-client';
import { withClientUrl } from '../networkservice/common/clienturl/clienturl.js';
import { connect } from '../networkservice/common/connect/connect.js';
import { updatePath } from '../networkservice/common/updatepath/updatepath.js';
import { jwtTokenGenerator } from '../security/tokens.js';
import { chainTracing, clientSpan } from './chain.js';
import { spanRecord, type SpanRecord } from './records.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A request for `conn` offering NOOP, the endpoint's one mechanism. */
const ask = (conn: Partial<Connection>) => newRequest(newConnection(conn), [newMechanism('NOOP', 'LOCAL')]);

/** A tracer provider as one process has it: its own service name, its spans kept in memory. */
function processTracer(service: string) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { tracer: provider.getTracer('test'), exporter, provider };
}

let servers: MeshServer[];
let pools: ClientPool[];
let procs: ReturnType<typeof processTracer>[];
let registry: Registry;
let client: NetworkServiceHandler;
let endpointUrl: string;

beforeEach(async () => {
  servers = [];
  pools = [];
  const [c, a, b] = (procs = [processTracer('nsc-1'), processTracer('hop-a'), processTracer('nse-b')]);
  // The endpoint: the product chain, traced; `fail` is refused by its own function.
  const refuse = element({
    request: (ctx, req, next) =>
      req.connection?.network_service === 'fail'
        ? Promise.reject(new NsmError(Code.NOT_FOUND, 'no such service here'))
        : next.request(ctx, req),
  });
  const nse = createEndpointChain({
    name: 'nse-b',
    tokens: jwtTokenGenerator({ name: 'nse-b' }),
    mechanisms: { NOOP: element({}) },
    elements: [refuse],
    tracing: chainTracing(b!.tracer, 'nse-b'),
  });
  const serverB = createServer();
  servers.push(serverB);
  serverB.serveNetworkService(nse.handler);
  [endpointUrl] = (await serverB.listen(['tcp://127.0.0.1:0'])) as [string];

  // A hop: traced and counted at the same points; its selection takes 5 ms.
  registry = new Registry();
  const instruments = combineInstruments(chainTracing(a!.tracer, 'hop-a'), chainMetrics(registry))!;
  const poolA = new ClientPool({ tokens: jwtTokenGenerator({ name: 'hop-a' }) });
  pools.push(poolA);
  const select = element({
    request: async (ctx, req, next) => {
      await sleep(5);
      return next.request(withClientUrl(ctx, endpointUrl), req);
    },
    close: (ctx, conn, next) => next.close(withClientUrl(ctx, endpointUrl), conn),
  });
  const hop = toHandler([
    instruments.count(),
    named('updatePath', updatePath('hop-a')),
    instruments.stage('select', select),
    connect({ pool: poolA, client: [metadata('client'), instruments.around('dial')] }),
  ]);
  const serverA = createServer();
  servers.push(serverA);
  serverA.serveNetworkService(hop);
  const [hopUrl] = (await serverA.listen(['tcp://127.0.0.1:0'])) as [string];

  // The client: its span is the root.
  const poolC = new ClientPool({ tokens: jwtTokenGenerator({ name: 'nsc-1' }) });
  pools.push(poolC);
  client = toHandler([
    named('updatePath', updatePath('nsc-1')),
    metadata('client'),
    clientSpan(c!.tracer, 'nsc-1'),
    managerHop(poolC, hopUrl),
  ]);
});

afterEach(async () => {
  for (const p of pools) p.close();
  for (const s of servers) await s.close();
  for (const p of procs) await p.provider.shutdown();
});

/** Every process's finished spans as records. */
function spans(): SpanRecord[] {
  return procs.flatMap((p) => p.exporter.getFinishedSpans().map(spanRecord));
}

function find(all: SpanRecord[], service: string, name: string): SpanRecord {
  const found = all.filter((s) => s.service === service && s.name === name);
  expect(found, `${service} ${name}`).toHaveLength(1);
  return found[0]!;
}

async function withCtx<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
  const { ctx, cancel } = withTimeout(createContext(), 5000);
  try {
    return await fn(ctx);
  } finally {
    cancel();
  }
}

describe('tracing across hops', () => {
  it('makes one trace of a request: client, hop (select, dial) and endpoint, parent by parent', async () => {
    const conn = await withCtx((ctx) => client.request(ctx, ask({ id: 'c-1', network_service: 'svc' })));
    const all = spans();
    expect(all).toHaveLength(5);
    const root = find(all, 'nsc-1', 'request');
    const hop = find(all, 'hop-a', 'request');
    const select = find(all, 'hop-a', 'select');
    const dialSpan = find(all, 'hop-a', 'dial');
    const nse = find(all, 'nse-b', 'request');
    expect(new Set(all.map((s) => s.traceId)).size).toBe(1);
    expect(root.parentSpanId).toBeUndefined();
    expect(root.kind).toBe('client');
    expect(hop.parentSpanId).toBe(root.spanId);
    expect(hop.kind).toBe('server');
    expect(select.parentSpanId).toBe(hop.spanId);
    expect(dialSpan.parentSpanId).toBe(hop.spanId);
    // The endpoint's parent is the hop's call to it: the traceparent of that call.
    expect(nse.parentSpanId).toBe(dialSpan.spanId);
    // Children lie within their parents; select ends before dial starts (its own work only).
    for (const [child, parent] of [
      [hop, root],
      [select, hop],
      [dialSpan, hop],
      [nse, dialSpan],
    ] as const) {
      expect(child.start).toBeGreaterThanOrEqual(parent.start);
      expect(child.end).toBeLessThanOrEqual(parent.end);
    }
    expect(select.end - select.start).toBeGreaterThanOrEqual(4);
    expect(select.end).toBeLessThanOrEqual(dialSpan.start);
    expect(select.attributes['nsm.stage.part']).toBe('before next');
    expect(dialSpan.attributes['nsm.next_hop.url']).toBe(endpointUrl);
    // Each hop names its own segment's id; the client sees every id of the path.
    const ids = conn.path!.path_segments.map((s) => s.id);
    expect(ids).toHaveLength(3);
    expect(root.attributes['nsm.connection.id']).toBe('c-1');
    expect(root.attributes['nsm.path.ids']).toEqual(ids);
    expect(hop.attributes['nsm.connection.id']).toBe(ids[1]);
    expect(nse.attributes['nsm.connection.id']).toBe(ids[2]);
    for (const s of [root, hop, nse]) {
      expect(s.attributes['nsm.result']).toBe('ok');
      expect(s.attributes['rpc.grpc.status_code']).toBe(0);
      expect(s.attributes['nsm.network_service']).toBe('svc');
      expect(s.status).toBe('ok');
    }
    expect(root.attributes['nsm.request.attempt']).toBe(1);
    expect(nse.attributes['nsm.hop']).toBe('nse-b');
    // The metrics saw the same stages at the same points.
    const stages = await registry.getSingleMetric('nsm_stage_duration_seconds')!.get();
    const counts = stages.values.filter(
      (v) => (v as { metricName?: string }).metricName === 'nsm_stage_duration_seconds_count',
    );
    expect(counts.map((v) => [v.labels['stage'], v.value]).sort()).toEqual([
      ['dial', 1],
      ['select', 1],
    ]);
  });

  it('records a refusal on every span of the path, with its gRPC code', async () => {
    await expect(
      withCtx((ctx) => client.request(ctx, ask({ id: 'c-2', network_service: 'fail' }))),
    ).rejects.toThrow(/no such service here/);
    const all = spans();
    expect(new Set(all.map((s) => s.traceId)).size).toBe(1);
    for (const [service, name] of [
      ['nsc-1', 'request'],
      ['hop-a', 'request'],
      ['hop-a', 'dial'],
      ['nse-b', 'request'],
    ] as const) {
      const s = find(all, service, name);
      expect(s.status, `${service} ${name}`).toBe('error');
      expect(s.attributes['nsm.code']).toBe('NOT_FOUND');
      expect(s.attributes['rpc.grpc.status_code']).toBe(Code.NOT_FOUND);
      expect(s.errors?.join()).toMatch(/no such service here/);
    }
    // The selection itself went well: it has no error.
    expect(find(all, 'hop-a', 'select').status).toBe('unset');
  });

  it('a second request of a connection is attempt 2, in a trace of its own; a close is traced too', async () => {
    const conn = await withCtx((ctx) => client.request(ctx, ask({ id: 'c-3', network_service: 'svc' })));
    await withCtx((ctx) => client.request(ctx, newRequest(conn, [newMechanism('NOOP', 'LOCAL')])));
    await withCtx((ctx) => client.close(ctx, conn));
    const roots = spans().filter((s) => s.service === 'nsc-1');
    expect(roots.map((s) => [s.name, s.attributes['nsm.request.attempt']])).toEqual([
      ['request', 1],
      ['request', 2],
      ['close', undefined],
    ]);
    expect(new Set(roots.map((s) => s.traceId)).size).toBe(3);
    const closeTrace = spans().filter((s) => s.traceId === roots[2]!.traceId);
    expect(closeTrace.map((s) => `${s.service} ${s.name}`).sort()).toEqual([
      'hop-a close',
      'nsc-1 close',
      'nse-b close',
    ]);
  });

  it('a caller that sends no trace context (upstream without tracing) starts a new root', async () => {
    const plain = dial(endpointUrl, { tokens: jwtTokenGenerator({ name: 'upstream' }) });
    try {
      await withCtx((ctx) => plain.networkService.request(ctx, ask({ id: 'u-1', network_service: 'svc' })));
      // A malformed traceparent is ignored the same way.
      await withCtx((ctx) =>
        plain.networkService.request(
          withOutgoingMetadata(ctx, { traceparent: 'not-a-trace-context' }),
          ask({ id: 'u-2', network_service: 'svc' }),
        ),
      );
    } finally {
      plain.close();
    }
    const served = spans().filter((s) => s.service === 'nse-b');
    expect(served).toHaveLength(2);
    for (const s of served) {
      expect(s.parentSpanId).toBeUndefined();
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.status).toBe('ok');
    }
    expect(served[0]!.traceId).not.toBe(served[1]!.traceId);
  });
});

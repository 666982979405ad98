/**
 * Where spans go: the JSON-lines trace file (bounded, read back as records) and an OTLP/HTTP
 * receiver (the SDK's exporter, posting to a server of this test on 127.0.0.1); bad endpoints.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvReader } from '../tools/env/env.js';
import { otlpTracesUrl, readTracingConfig } from './config.js';
import { readTraceFile } from './records.js';
import { startTracing } from './setup.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsm-trace-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the trace file', () => {
  it('holds each finished span as a record: ids, parent, service, times, status, attributes, errors', async () => {
    const file = join(dir, 'traces', 'nsmgr-node-1.jsonl');
    const tracing = startTracing({ file, otlpUrl: '' }, { service: 'nsmgr-node-1' })!;
    const root = tracing.tracer.startSpan('request', {
      kind: SpanKind.SERVER,
      attributes: { 'nsm.hop': 'x' },
    });
    const { trace } = await import('@opentelemetry/api');
    const parent = trace.setSpan((await import('@opentelemetry/api')).ROOT_CONTEXT, root);
    const child = tracing.tracer.startSpan('select', {}, parent);
    child.recordException(new Error('no endpoint'));
    child.setStatus({ code: 2, message: 'no endpoint' });
    child.end();
    root.end();
    await tracing.shutdown();
    const spans = readTraceFile(file);
    expect(spans.map((s) => s.name)).toEqual(['select', 'request']);
    const [sel, req] = spans as [(typeof spans)[0], (typeof spans)[0]];
    expect(req.parentSpanId).toBeUndefined();
    expect(sel.parentSpanId).toBe(req.spanId);
    expect(sel.traceId).toBe(req.traceId);
    expect(req.service).toBe('nsmgr-node-1');
    expect(req.kind).toBe('server');
    expect(req.attributes['nsm.hop']).toBe('x');
    expect(req.end).toBeGreaterThanOrEqual(req.start);
    expect(Math.abs(req.start - Date.now())).toBeLessThan(10_000);
    expect(sel.status).toBe('error');
    expect(sel.statusMessage).toBe('no endpoint');
    expect(sel.errors).toEqual(['no endpoint']);
  });

  it('is bounded: past the limit it moves to <file>.1 and starts anew; both are read, oldest first', async () => {
    const file = join(dir, 'f.jsonl');
    const tracing = startTracing({ file, otlpUrl: '' }, { service: 's', fileMaxBytes: 2000 })!;
    for (let i = 0; i < 40; i++) tracing.tracer.startSpan(`span-${i}`).end();
    await tracing.shutdown();
    const size = statSync(file).size + statSync(`${file}.1`).size;
    expect(size).toBeLessThanOrEqual(4000);
    expect(statSync(file).size).toBeLessThanOrEqual(2000);
    const names = readTraceFile(file).map((s) => s.name);
    expect(names.length).toBeGreaterThan(4);
    expect(names.length).toBeLessThan(40);
    expect(names.at(-1)).toBe('span-39');
    // In order, with none lost between the two files.
    const numbers = names.map((n) => Number(n.slice(5)));
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
  });

  it('skips a half-written last line', async () => {
    const file = join(dir, 'g.jsonl');
    const tracing = startTracing({ file, otlpUrl: '' }, { service: 's' })!;
    tracing.tracer.startSpan('whole').end();
    await tracing.shutdown();
    const { appendFileSync } = await import('node:fs');
    appendFileSync(file, '{"traceId":"ab');
    expect(readTraceFile(file).map((s) => s.name)).toEqual(['whole']);
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(2);
  });
});

/** A small OTLP/HTTP receiver: the bodies posted to /v1/traces. */
async function receiver(): Promise<{
  server: Server;
  url: string;
  bodies: { path: string; body: unknown }[];
}> {
  const bodies: { path: string; body: unknown }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      expect(req.headers['content-type']).toMatch(/application\/json/);
      bodies.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}`, bodies };
}

interface OtlpBody {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string; name: string }[] }[];
  }[];
}

describe('the OTLP exporter', () => {
  it('posts the spans to the receiver named by OTEL_EXPORTER_OTLP_ENDPOINT, at /v1/traces', async () => {
    const { server, url, bodies } = await receiver();
    try {
      const reader = new EnvReader({});
      const config = readTracingConfig(reader, { OTEL_EXPORTER_OTLP_ENDPOINT: url });
      expect(reader.errors).toEqual([]);
      const tracing = startTracing(config, { service: 'forwarder-node-1' })!;
      expect(tracing.describe).toBe(`otlp:${url}/v1/traces`);
      const { trace, ROOT_CONTEXT } = await import('@opentelemetry/api');
      const root = tracing.tracer.startSpan('request');
      const ctx = trace.setSpan(ROOT_CONTEXT, root);
      for (const name of ['select', 'wire', 'dial']) tracing.tracer.startSpan(name, {}, ctx).end();
      root.end();
      await tracing.shutdown();
      expect(bodies.map((b) => b.path)).toEqual(['/v1/traces']);
      const resourceSpans = (bodies[0]!.body as OtlpBody).resourceSpans;
      const service = resourceSpans[0]!.resource.attributes.find((a) => a.key === 'service.name');
      expect(service?.value.stringValue).toBe('forwarder-node-1');
      const spans = resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
      expect(spans.map((s) => s.name).sort()).toEqual(['dial', 'request', 'select', 'wire']);
      const rootId = root.spanContext();
      expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([rootId.traceId]));
      expect(spans.filter((s) => s.parentSpanId === rootId.spanId)).toHaveLength(3);
    } finally {
      server.close();
    }
  });

  it('takes OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as the full URL, before the others', () => {
    expect(
      otlpTracesUrl({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/custom/traces',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9999',
      }),
    ).toBe('http://127.0.0.1:4318/custom/traces');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318/base/' })).toBe(
      'https://collector:4318/base/v1/traces',
    );
    expect(otlpTracesUrl({ NSM_OTEL_ENDPOINT: 'http://[::1]:4318' })).toBe('http://[::1]:4318/v1/traces');
    expect(otlpTracesUrl({})).toBe('');
    expect(startTracing({ file: '', otlpUrl: '' }, { service: 's' })).toBeUndefined();
  });

  it('refuses a bad endpoint naming the variable, the value and the form', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [
        { OTEL_EXPORTER_OTLP_ENDPOINT: '127.0.0.1:4318' },
        /^OTEL_EXPORTER_OTLP_ENDPOINT="127.0.0.1:4318": not a URL \(no scheme: http:\/\/ or https:\/\/ is missing\); expected an http/,
      ],
      [
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' },
        /^OTEL_EXPORTER_OTLP_ENDPOINT="localhost:4318": not a URL/,
      ],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://' }, /^OTEL_EXPORTER_OTLP_ENDPOINT="http:\/\/": not a URL/],
      [
        { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector' },
        /^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="collector": not a URL .*; expected an http:\/\/ or https:\/\/ URL/,
      ],
      [
        { NSM_OTEL_ENDPOINT: 'grpc://127.0.0.1:4317' },
        /^NSM_OTEL_ENDPOINT="grpc:\/\/127.0.0.1:4317": the scheme grpc:\/\/ is not http or https/,
      ],
    ];
    for (const [env, message] of cases) {
      const reader = new EnvReader({});
      const config = readTracingConfig(reader, env);
      expect(reader.errors).toHaveLength(1);
      expect(reader.errors[0]).toMatch(message);
      expect(reader.errors[0]).toMatch(/e\.g\. http:\/\/127\.0\.0\.1:4318/);
      expect(config.otlpUrl).toBe('');
    }
  });
});

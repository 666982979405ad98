/**
 * Spans of a chain: one per hop (the request or close this process answers, or, at the client, the one
 * it makes), and children of it per stage (endpoint selection, the call to the next hop, building the
 * wire). Plugged in at the same points as the metrics (`ChainInstruments`).
 */
import { SpanKind, type Context as TraceContext, type Tracer } from '@opentelemetry/api';
import type { Connection, NetworkServiceRequest } from '../api/types.js';
import type { NetworkServiceElement, NetworkServiceHandler } from '../core/chain.js';
import { withLog, type Context } from '../core/context.js';
import type { ChainInstruments, Stage } from '../core/instruments.js';
import { metadataSlot } from '../core/metadata.js';
import { clientUrlOf } from '../networkservice/common/clienturl/clienturl.js';
import { ATTR, connectionAttributes, endWith } from './attributes.js';
import { anchoredClock, spanClockOf, traceContextOf, withSpan, withSpanClock } from './context.js';
import { parentTraceContext } from './propagation.js';

/** Own work of a stage shorter than this (ms) gets no span unless it is the only part. */
const MIN_PART_MS = 0.1;

type Op = 'request' | 'close';

function rpcAttributes(op: Op): Record<string, string> {
  return {
    [ATTR.rpcSystem]: 'grpc',
    [ATTR.rpcService]: 'networkservice.NetworkService',
    [ATTR.rpcMethod]: op === 'request' ? 'Request' : 'Close',
  };
}

/** Runs `call` in a span `op` of hop `hop` under `parent`; its context (and log) carry the span. */
async function inHopSpan<T extends Connection | void>(
  tracer: Tracer,
  hop: string,
  kind: SpanKind,
  op: Op,
  ctx: Context,
  parent: TraceContext,
  conn: Connection | null | undefined,
  extra: Record<string, number>,
  call: (ctx: Context) => Promise<T>,
): Promise<T> {
  const clock = anchoredClock();
  const span = tracer.startSpan(
    op,
    {
      kind,
      startTime: clock(),
      attributes: { [ATTR.hop]: hop, ...rpcAttributes(op), ...connectionAttributes(conn, hop), ...extra },
    },
    parent,
  );
  const traced = withSpanClock(withSpan(ctx, parent, span), clock);
  const inner = withLog(traced, ctx.log.child({ trace_id: span.spanContext().traceId }));
  try {
    const out = await call(inner);
    if (out) span.setAttributes(connectionAttributes(out, hop));
    endWith(span, undefined, clock());
    return out;
  } catch (err) {
    endWith(span, err ?? new Error(`${op} failed`), clock());
    throw err;
  }
}

/**
 * The span of each request and close this hop answers, first in a server chain: a child of the
 * caller's span (W3C trace context in the call's metadata), or a new root when the caller sends none.
 */
export function hopSpan(tracer: Tracer, hop: string): NetworkServiceElement {
  return {
    name: 'tracing',
    request: (ctx, req, next) =>
      inHopSpan(
        tracer,
        hop,
        SpanKind.SERVER,
        'request',
        ctx,
        parentTraceContext(ctx),
        req.connection,
        {},
        (c) => next.request(c, req),
      ),
    close: (ctx, conn, next) =>
      inHopSpan(tracer, hop, SpanKind.SERVER, 'close', ctx, parentTraceContext(ctx), conn, {}, (c) =>
        next.close(c, conn),
      ),
  };
}

/** How many requests the client made for a connection (a refresh or heal repeats it): in its metadata. */
const attempts = metadataSlot<number>('tracing.attempts', 'client');

/**
 * The span of each request and close a client makes: the root of the trace that follows it through
 * every hop (each refresh and heal its own trace). After `begin` and `metadata('client')`.
 */
export function clientSpan(tracer: Tracer, name: string): NetworkServiceElement {
  return {
    name: 'tracing',
    request: (ctx, req: NetworkServiceRequest, next) => {
      const attempt = (attempts.get(ctx) ?? 0) + 1;
      attempts.set(ctx, attempt);
      return inHopSpan(
        tracer,
        name,
        SpanKind.CLIENT,
        'request',
        ctx,
        parentTraceContext(ctx),
        req.connection,
        { [ATTR.attempt]: attempt },
        (c) => next.request(c, req),
      );
    },
    close: (ctx, conn, next) =>
      inHopSpan(tracer, name, SpanKind.CLIENT, 'close', ctx, parentTraceContext(ctx), conn, {}, (c) =>
        next.close(c, conn),
      ),
  };
}

/** A stretch of a stage's own work: before its first `next`, between two, or after the last. */
interface Part {
  start: number;
  end: number;
  part: string;
}

/**
 * `element` with a span `stage` for its own work on requests, not the time in `next` (the next hop's
 * spans are not its children): one span per stretch of its own work, those shorter than 0.1 ms left
 * out unless nothing else remains. An error is recorded on the last stretch.
 */
function stageSpans(tracer: Tracer, stage: Stage, element: NetworkServiceElement): NetworkServiceElement {
  return {
    ...(element.name ? { name: element.name } : {}),
    async request(ctx, req, next) {
      const parent = traceContextOf(ctx);
      if (!parent) return element.request(ctx, req, next);
      const now = spanClockOf(ctx);
      const parts: Part[] = [];
      let start = now();
      let calls = 0;
      let nextFailure: unknown;
      const cut = (part: string): void => {
        parts.push({ start, end: now(), part });
      };
      const timedNext: NetworkServiceHandler = {
        async request(c, r) {
          cut(calls === 0 ? 'before next' : 'between next');
          calls++;
          try {
            return await next.request(c, r);
          } catch (err) {
            nextFailure = err;
            throw err;
          } finally {
            start = now();
          }
        },
        close: (c, conn) => next.close(c, conn),
      };
      // The stage's own failure; one of `next` it passes on is the next hop's, recorded there.
      let failure: unknown;
      try {
        return await element.request(ctx, req, timedNext);
      } catch (err) {
        if (err !== nextFailure) failure = err ?? new Error(`${stage} failed`);
        throw err;
      } finally {
        cut(calls === 0 ? 'whole' : 'after next');
        const kept = parts.filter(
          (p, i) => p.end - p.start >= MIN_PART_MS || (i === parts.length - 1 && failure),
        );
        const longest = parts.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
        for (const p of kept.length > 0 ? kept : [longest]) {
          const span = tracer.startSpan(
            stage,
            { startTime: p.start, attributes: { [ATTR.stage]: stage, [ATTR.part]: p.part } },
            parent,
          );
          if (p === parts[parts.length - 1] && failure !== undefined) endWith(span, failure, p.end);
          else span.end(p.end);
        }
      }
    },
    close: (ctx, conn, next) => element.close(ctx, conn, next),
  };
}

/** A span `stage` around the call to the next hop, the parent of that hop's span (the `dial` stage). */
function aroundSpan(tracer: Tracer, stage: Stage): NetworkServiceElement {
  return {
    name: `tracing.${stage}`,
    async request(ctx, req, next) {
      const parent = traceContextOf(ctx);
      if (!parent) return next.request(ctx, req);
      const url = clientUrlOf(ctx);
      const now = spanClockOf(ctx);
      const span = tracer.startSpan(
        stage,
        {
          kind: SpanKind.CLIENT,
          startTime: now(),
          attributes: { [ATTR.stage]: stage, ...(url ? { [ATTR.nextHop]: url } : {}) },
        },
        parent,
      );
      try {
        const conn = await next.request(withSpan(ctx, parent, span), req);
        endWith(span, undefined, now());
        return conn;
      } catch (err) {
        endWith(span, err ?? new Error(`${stage} failed`), now());
        throw err;
      }
    },
    close: (ctx, conn, next) => next.close(ctx, conn),
  };
}

/**
 * The tracing of a server chain named `hop` at its instrumentation points: the hop's span first, a
 * span per stage under it. Usage: `createManagerChain({ ..., tracing: chainTracing(tracer, name) })`.
 */
export function chainTracing(tracer: Tracer, hop: string): ChainInstruments {
  return {
    count: () => hopSpan(tracer, hop),
    stage: (stage, element) => stageSpans(tracer, stage, element),
    around: (stage) => aroundSpan(tracer, stage),
  };
}

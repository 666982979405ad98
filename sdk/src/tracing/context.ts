/**
 * The trace a call belongs to, carried as a value of the chain's context (no global context manager):
 * elements start their spans under it, and the gRPC boundary sends it on as W3C trace context
 * (`traceparent`, `tracestate`) in the metadata of every outgoing call.
 */
import { trace, type Context as TraceContext, type Span } from '@opentelemetry/api';
import { createContextKey, withValue, type Context } from '../core/context.js';

/** The OpenTelemetry context (the current span) of a call, if it is traced. */
export const kTraceContext = createContextKey<TraceContext | undefined>('trace.context', undefined);

/**
 * The clock of a hop's spans, in epoch milliseconds with sub-millisecond steps: the wall clock when
 * the hop's span starts, the monotonic clock from there. Its stages read the same one, so a child never
 * seems to start before its parent in one process (the SDK anchors every span to the wall clock anew).
 */
export type SpanClock = () => number;

const kSpanClock = createContextKey<SpanClock | undefined>('trace.clock', undefined);

/** A clock anchored to the wall clock now. */
export function anchoredClock(): SpanClock {
  const base = Date.now() - performance.now();
  return () => base + performance.now();
}

/** The span clock of `ctx`'s hop, or a new one. */
export function spanClockOf(ctx: Context): SpanClock {
  return ctx.value(kSpanClock) ?? anchoredClock();
}

/** `ctx` with `clock` for the spans of its hop. */
export function withSpanClock(ctx: Context, clock: SpanClock): Context {
  return withValue(ctx, kSpanClock, clock);
}

/**
 * The trace context of `ctx`, if a traced element runs before and its span has not ended. A span
 * ends with the call it stands for; work replayed later with that call's context (a refresh or close
 * begin starts from a stored context) is not part of it, and starts a trace of its own.
 */
export function traceContextOf(ctx: Context): TraceContext | undefined {
  const traced = ctx.value(kTraceContext);
  if (!traced) return undefined;
  const span = trace.getSpan(traced);
  return span && isEnded(span) ? undefined : traced;
}

/** Whether `span` is an SDK span that has ended (a non-recording span, from an unsampled caller, never is). */
function isEnded(span: Span): boolean {
  return 'ended' in span && span.ended === true;
}

/** `ctx` with `span` as the current span, its parent context being `parent`. */
export function withSpan(ctx: Context, parent: TraceContext, span: Span): Context {
  return withValue(ctx, kTraceContext, trace.setSpan(parent, span));
}

/** The trace id of the call of `ctx`, if it is traced. Usage: `log.info({ trace_id: traceIdOf(ctx) })`. */
export function traceIdOf(ctx: Context): string | undefined {
  const traced = traceContextOf(ctx);
  const span = traced ? trace.getSpanContext(traced) : undefined;
  return span && trace.isSpanContextValid(span) ? span.traceId : undefined;
}

/**
 * W3C trace context in gRPC metadata (the OpenTelemetry propagator: `traceparent`, `tracestate`):
 * injected into every outgoing call of a traced context, extracted from a served call's metadata.
 * A caller that sends none (upstream NSM without tracing) makes the served call a new root.
 */
import {
  ROOT_CONTEXT,
  trace,
  type Context as TraceContext,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Context } from '../core/context.js';
import { kIncomingMetadata } from '../grpc/call-metadata.js';
import { traceContextOf } from './context.js';

const propagator = new W3CTraceContextPropagator();

type Carrier = Record<string, string>;
const setter: TextMapSetter<Carrier> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};
const getter: TextMapGetter<Readonly<Carrier>> = {
  get: (carrier, key) => carrier[key],
  keys: (carrier) => Object.keys(carrier),
};

/** The metadata keys the propagator uses. */
export const TRACE_METADATA_KEYS = propagator.fields();

/**
 * The trace headers of `ctx` (empty when it is not traced), for the metadata of an outgoing call.
 * Usage: `for (const [k, v] of Object.entries(traceHeaders(ctx))) md.set(k, v)`.
 */
export function traceHeaders(ctx: Context): Record<string, string> {
  const traced = traceContextOf(ctx);
  const out: Record<string, string> = {};
  if (!traced) return out;
  propagator.inject(traced, out, setter);
  return out;
}

/**
 * The parent of a served call: the trace of `ctx` when the call came from inside this process, else
 * the caller's span from the call's metadata, else none (a new root).
 */
export function parentTraceContext(ctx: Context): TraceContext {
  const local = traceContextOf(ctx);
  if (local) return local;
  const incoming = ctx.value(kIncomingMetadata);
  if (!incoming['traceparent']) return ROOT_CONTEXT;
  const extracted = propagator.extract(ROOT_CONTEXT, incoming, getter);
  return trace.getSpanContext(extracted) ? extracted : ROOT_CONTEXT;
}

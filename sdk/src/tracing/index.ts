/**
 * @nsm-ts/sdk/tracing: spans of every hop of a request, W3C trace context across hops in gRPC
 * metadata, exported with the OpenTelemetry SDK to a trace file (`nsm trace`) and/or an OTLP
 * collector. The spans and their attributes are listed in docs/observability.md, "Traces".
 */
export * from './attributes.js';
export * from './chain.js';
export * from './config.js';
export * from './context.js';
export * from './file-exporter.js';
export * from './propagation.js';
export * from './records.js';
export * from './setup.js';
export type { Tracer } from '@opentelemetry/api';

/**
 * A process's tracer: the OpenTelemetry SDK's tracer provider with this process as `service.name`,
 * exporting finished spans to the trace file and/or an OTLP/HTTP collector (the SDK's exporter).
 */
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from '../core/log.js';
import type { TracingConfig } from './config.js';
import { JsonLinesSpanExporter } from './file-exporter.js';

/** A running tracer provider. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Sends what is pending (the OTLP batch) without stopping. */
  flush(): Promise<void>;
  /** Sends what is pending and stops the exporters. */
  shutdown(): Promise<void>;
  /** For the daemon's start line: `file:<path>`, `otlp:<url>`, or both; 'off' never (no tracing then). */
  readonly describe: string;
}

/**
 * The tracing of process `service`; undefined when `config` enables no exporter.
 * Usage: `const tracing = startTracing(config.tracing, { service: config.name })`.
 */
export function startTracing(
  config: TracingConfig,
  options: { service: string; log?: Logger; fileMaxBytes?: number },
): Tracing | undefined {
  const processors: SpanProcessor[] = [];
  const where: string[] = [];
  if (config.file) {
    // Each span as it ends: `nsm trace` right after a request sees it.
    processors.push(new SimpleSpanProcessor(new JsonLinesSpanExporter(config.file, options.fileMaxBytes)));
    where.push(`file:${config.file}`);
  }
  if (config.otlpUrl) {
    processors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url: config.otlpUrl }), { scheduledDelayMillis: 1000 }),
    );
    where.push(`otlp:${config.otlpUrl}`);
  }
  if (processors.length === 0) return undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.service }),
    spanProcessors: processors,
  });
  const describe = where.join(',');
  options.log?.debug({ traces: describe }, 'tracing');
  return {
    tracer: provider.getTracer('nsm-ts'),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
    describe,
  };
}

/**
 * Finished spans as plain JSON records, one a line in a trace file (`NSM_TRACE_FILE`), and how to
 * read such files back (what `nsm trace` does). Times are epoch milliseconds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SpanKind, SpanStatusCode, type AttributeValue } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** One finished span. */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId?: string;
  name: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  /** The process that recorded it (its `service.name`: nsmgr-node-1, forwarder-node-2, a pod ...). */
  service: string;
  /** Epoch milliseconds. */
  start: number;
  end: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  attributes: Record<string, AttributeValue>;
  /** Recorded exceptions: their messages. */
  errors?: string[];
}

const KINDS: Record<SpanKind, SpanRecord['kind']> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

/** The record of a finished span. */
export function spanRecord(span: ReadableSpan): SpanRecord {
  const context = span.spanContext();
  const attributes: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(span.attributes)) if (v !== undefined) attributes[k] = v;
  const errors = span.events
    .filter((e) => e.name === 'exception')
    .map((e) => String(e.attributes?.['exception.message'] ?? e.attributes?.['exception.type'] ?? ''));
  const service = span.resource.attributes[ATTR_SERVICE_NAME];
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    ...(span.parentSpanContext ? { parentSpanId: span.parentSpanContext.spanId } : {}),
    name: span.name,
    kind: KINDS[span.kind],
    service: typeof service === 'string' ? service : '',
    start: hrTimeToMilliseconds(span.startTime),
    end: hrTimeToMilliseconds(span.endTime),
    status:
      span.status.code === SpanStatusCode.ERROR
        ? 'error'
        : span.status.code === SpanStatusCode.OK
          ? 'ok'
          : 'unset',
    ...(span.status.message ? { statusMessage: span.status.message } : {}),
    attributes,
    ...(errors.length > 0 ? { errors } : {}),
  };
}

function isRecord(value: unknown): value is SpanRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<SpanRecord>;
  return (
    typeof r.traceId === 'string' &&
    typeof r.spanId === 'string' &&
    typeof r.name === 'string' &&
    typeof r.start === 'number' &&
    typeof r.end === 'number'
  );
}

/**
 * The spans of a trace file and of its rotated predecessor (`<file>.1`), oldest first. Lines that do
 * not parse (a line being written) are skipped. Usage: `readTraceFile('/run/nsm-lab/x/traces/a.jsonl')`.
 */
export function readTraceFile(file: string): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (const path of [`${file}.1`, file]) {
    if (!existsSync(path)) continue;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const parsed: unknown = JSON.parse(line);
        if (isRecord(parsed)) out.push({ ...parsed, attributes: parsed.attributes ?? {} });
      } catch {
        // A partial last line: the writer is mid-append.
      }
    }
  }
  return out;
}

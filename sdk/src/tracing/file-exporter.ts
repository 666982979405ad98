/**
 * A SpanExporter that appends finished spans as JSON lines to a file (`NSM_TRACE_FILE`): what
 * `nsm trace` reads in the lab, with no collector running. Bounded: past `maxBytes` the file moves to
 * `<file>.1` (replacing the one before) and a new one starts, so at most twice `maxBytes` stay.
 */
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { spanRecord } from './records.js';

/** Default bound of a trace file: 8 MiB (and as much again in `<file>.1`). */
export const TRACE_FILE_MAX_BYTES = 8 * 1024 * 1024;

/** Usage: `new SimpleSpanProcessor(new JsonLinesSpanExporter('/run/nsm-lab/x/traces/nsmgr.jsonl'))`. */
export class JsonLinesSpanExporter implements SpanExporter {
  private size: number;
  private stopped = false;

  constructor(
    readonly file: string,
    private readonly maxBytes = TRACE_FILE_MAX_BYTES,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    this.size = sizeOf(file);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: new Error('the trace file exporter is shut down'),
      });
      return;
    }
    try {
      const text = spans.map((s) => `${JSON.stringify(spanRecord(s))}\n`).join('');
      const bytes = Buffer.byteLength(text);
      if (this.size > 0 && this.size + bytes > this.maxBytes) {
        renameSync(this.file, `${this.file}.1`);
        this.size = 0;
      }
      appendFileSync(this.file, text);
      this.size += bytes;
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (err) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: err instanceof Error ? err : new Error(String(err)),
      });
    }
  }

  shutdown(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

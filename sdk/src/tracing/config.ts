/**
 * Where a process sends its spans: a JSON-lines file (`NSM_TRACE_FILE`, what `nsm trace` reads in the
 * lab) and/or an OpenTelemetry collector over OTLP/HTTP, by the standard variables
 * (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`; this
 * mesh's `NSM_OTEL_ENDPOINT` is read as the latter when neither is set). None set: no tracing.
 */
import type { EnvReader } from '../tools/env/env.js';

export const TRACE_FILE_ENV = 'NSM_TRACE_FILE';
export const OTLP_TRACES_ENV = 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT';
export const OTLP_ENV = 'OTEL_EXPORTER_OTLP_ENDPOINT';
export const NSM_OTLP_ENV = 'NSM_OTEL_ENDPOINT';

/** What a good endpoint looks like, for error messages. */
export const OTLP_ENDPOINT_FORM =
  'an http:// or https:// URL of an OTLP/HTTP receiver, e.g. http://127.0.0.1:4318 (the base, for the traces at /v1/traces) or, for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, the full http://127.0.0.1:4318/v1/traces';

/** A process's tracing: '' = that exporter is off. */
export interface TracingConfig {
  /** The JSON-lines file of finished spans. */
  file: string;
  /** Where OTLP/HTTP spans are posted (the full traces URL). */
  otlpUrl: string;
}

/** A bad endpoint variable; the message names it, the value and the expected form. */
export class TracingConfigError extends Error {
  override readonly name = 'TracingConfigError';
  constructor(variable: string, value: string, problem: string) {
    super(`${variable}=${JSON.stringify(value)}: ${problem}; expected ${OTLP_ENDPOINT_FORM}`);
  }
}

function checkedUrl(variable: string, value: string): URL {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    throw new TracingConfigError(variable, value, 'not a URL (no scheme: http:// or https:// is missing)');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TracingConfigError(variable, value, 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TracingConfigError(
      variable,
      value,
      `the scheme ${url.protocol.replace(/:$/, '')}:// is not http or https`,
    );
  if (!url.hostname) throw new TracingConfigError(variable, value, 'no host');
  return url;
}

/**
 * The OTLP/HTTP traces URL from `env` ('' when none is set), as the OpenTelemetry SDK forms it: a
 * traces endpoint as given, a base endpoint with `/v1/traces` appended. Throws TracingConfigError.
 */
export function otlpTracesUrl(env: Readonly<Record<string, string | undefined>>): string {
  const get = (name: string): string => env[name]?.trim() ?? '';
  const traces = get(OTLP_TRACES_ENV);
  if (traces) return checkedUrl(OTLP_TRACES_ENV, traces).href;
  for (const variable of [OTLP_ENV, NSM_OTLP_ENV]) {
    const base = get(variable);
    if (!base) continue;
    const url = checkedUrl(variable, base);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
    return url.href;
  }
  return '';
}

/**
 * Reads the tracing variables into a daemon's configuration; a bad endpoint is added to the reader's
 * errors (and left off). Usage: `tracing: readTracingConfig(reader, process.env)`.
 */
export function readTracingConfig(
  reader: EnvReader,
  env: Readonly<Record<string, string | undefined>> = process.env,
): TracingConfig {
  const file = reader.string(TRACE_FILE_ENV, '');
  try {
    return { file, otlpUrl: otlpTracesUrl(env) };
  } catch (err) {
    reader.errors.push((err as Error).message);
    return { file, otlpUrl: '' };
  }
}

/** The lines of a daemon's usage text. */
export const TRACING_USAGE = `  ${TRACE_FILE_ENV}                       append finished spans as JSON lines to this file (what
                                       nsm trace reads; default: unset = none)
  ${OTLP_ENV}          send spans to an OpenTelemetry collector over OTLP/HTTP,
                                       e.g. http://127.0.0.1:4318 (or ${OTLP_TRACES_ENV}
                                       for the full URL; ${NSM_OTLP_ENV} is read as the base)`;

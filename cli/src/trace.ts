/**
 * `nsm trace <connection>`: the spans of a connection's requests, as each daemon and pod of the lab
 * wrote them to its trace file (NSM_TRACE_FILE), printed as a waterfall: each span under its parent,
 * with its process, start offset, duration and a bar. The connection is named by any id on its path
 * (each hop has its own) or by the client pod that made it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTraceFile, type SpanRecord } from '@nsm-ts/sdk/tracing';
import { Lab } from './lab/lab.js';

/** One trace: its spans, its roots first. */
export interface Trace {
  traceId: string;
  spans: SpanRecord[];
}

/** Every span of every trace file in `dir` (`<component>.jsonl` and its rotated `.1`). */
export function readTraceDir(dir: string): SpanRecord[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => readTraceFile(join(dir, f)));
}

/** The spans grouped by trace, each trace's spans by start, the traces by their first span's start. */
export function groupTraces(spans: SpanRecord[]): Trace[] {
  const byId = new Map<string, SpanRecord[]>();
  for (const s of spans) byId.set(s.traceId, [...(byId.get(s.traceId) ?? []), s]);
  return [...byId]
    .map(([traceId, list]) => ({ traceId, spans: list.sort((a, b) => a.start - b.start) }))
    .sort((a, b) => (a.spans[0]?.start ?? 0) - (b.spans[0]?.start ?? 0));
}

/** The spans of `trace` whose parent is not in it: the client's span, or a hop whose caller sent no trace. */
export function rootsOf(trace: Trace): SpanRecord[] {
  const ids = new Set(trace.spans.map((s) => s.spanId));
  return trace.spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
}

function onPath(span: SpanRecord, id: string): boolean {
  const ids = span.attributes['nsm.path.ids'];
  return (
    span.attributes['nsm.connection.id'] === id || (Array.isArray(ids) && (ids as unknown[]).includes(id))
  );
}

/** Whether `trace` is of connection `query`: an id on its path, or the pod (or client) that started it. */
export function isTraceOf(trace: Trace, query: string): boolean {
  if (trace.spans.some((s) => onPath(s, query))) return true;
  return rootsOf(trace).some((r) => r.service === query || r.attributes['nsm.hop'] === query);
}

/**
 * The traces of `query`, oldest first: with `all` every one (requests, refreshes, heals, closes),
 * else the latest request's.
 */
export function tracesOf(traces: Trace[], query: string, all = false): Trace[] {
  const matching = traces.filter((t) => isTraceOf(t, query));
  if (all) return matching;
  const requests = matching.filter((t) => rootsOf(t)[0]?.name === 'request');
  const latest = requests.at(-1) ?? matching.at(-1);
  return latest ? [latest] : [];
}

const BAR = 40;

function bar(offset: number, duration: number, total: number): string {
  if (total <= 0) return `|${'█'.padEnd(BAR)}|`;
  const from = Math.min(BAR - 1, Math.floor((offset / total) * BAR));
  const width = Math.max(1, Math.min(BAR - from, Math.round((duration / total) * BAR)));
  return `|${' '.repeat(from)}${'█'.repeat(width)}${' '.repeat(BAR - from - width)}|`;
}

/** What a span says beyond its name: endpoint, mechanism, connection, next hop, error. */
function details(span: SpanRecord): string {
  const a = span.attributes;
  const parts: string[] = [];
  const hop = span.kind === 'server' || (span.kind === 'client' && !a['nsm.stage']);
  if (hop && a['nsm.connection.id']) parts.push(`conn=${String(a['nsm.connection.id'])}`);
  if (hop && a['nsm.endpoint']) parts.push(`endpoint=${String(a['nsm.endpoint'])}`);
  if (hop && a['nsm.mechanism']) parts.push(`mechanism=${String(a['nsm.mechanism'])}`);
  if (a['nsm.request.attempt'] !== undefined && a['nsm.request.attempt'] !== 1)
    parts.push(`attempt=${String(a['nsm.request.attempt'])}`);
  if (span.status === 'error')
    parts.push(
      `ERROR ${String(a['nsm.code'] ?? '')}: ${span.statusMessage ?? span.errors?.[0] ?? ''}`.trim(),
    );
  return parts.join(' ');
}

const ms = (n: number): string => n.toFixed(1);

/** The waterfall of `trace`: a header, then each span under its parent (children by start). */
export function formatWaterfall(trace: Trace): string {
  const roots = rootsOf(trace);
  const start = Math.min(...trace.spans.map((s) => s.start));
  const end = Math.max(...trace.spans.map((s) => s.end));
  const total = end - start;
  const children = new Map<string, SpanRecord[]>();
  for (const s of trace.spans)
    if (s.parentSpanId && !roots.includes(s))
      children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s]);
  const rows: {
    label: string;
    service: string;
    offset: string;
    dur: string;
    bar: string;
    details: string;
  }[] = [];
  const walk = (span: SpanRecord, depth: number): void => {
    rows.push({
      label: `${'  '.repeat(depth)}${span.name}`,
      service: span.service,
      offset: ms(span.start - start),
      dur: ms(span.end - span.start),
      bar: bar(span.start - start, span.end - span.start, total),
      details: details(span),
    });
    for (const child of children.get(span.spanId) ?? []) walk(child, depth + 1);
  };
  for (const root of roots) walk(root, 0);
  const first = roots[0];
  const service = first?.attributes['nsm.network_service'];
  const header =
    `trace ${trace.traceId}: ${first?.name ?? '?'} by ${first?.service ?? '?'}` +
    `${service ? ` for ${String(service)}` : ''} at ${new Date(start).toISOString()}, ${ms(total)} ms, ${trace.spans.length} spans`;
  const w = (key: 'label' | 'service' | 'offset' | 'dur', title: string): number =>
    Math.max(title.length, ...rows.map((r) => r[key].length));
  const widths = {
    label: w('label', 'span'),
    service: w('service', 'process'),
    offset: w('offset', 'start ms'),
    dur: w('dur', 'ms'),
  };
  const line = (label: string, svc: string, offset: string, dur: string, b: string, d: string): string =>
    `${label.padEnd(widths.label)}  ${svc.padEnd(widths.service)}  ${offset.padStart(widths.offset)}  ${dur.padStart(widths.dur)}  ${b}${d ? `  ${d}` : ''}`.trimEnd();
  return [
    header,
    line('span', 'process', 'start ms', 'ms', '', ''),
    ...rows.map((r) => line(r.label, r.service, r.offset, r.dur, r.bar, r.details)),
  ].join('\n');
}

/** `nsm trace`: the waterfall (or with --json the spans) of a connection's latest request, or of all. */
export function traceCommand(query: string, opts: { lab: string; all?: boolean; json?: boolean }): number {
  const lab = new Lab(opts.lab);
  const traces = groupTraces(readTraceDir(lab.traceDir));
  const found = tracesOf(traces, query, opts.all ?? false);
  if (found.length === 0) {
    const clients = [
      ...new Set(
        traces.flatMap((t) =>
          rootsOf(t)
            .filter((r) => r.kind === 'client')
            .map((r) => r.service),
        ),
      ),
    ];
    throw new Error(
      `no trace of "${query}" in ${lab.traceDir}: expected a client pod's name or a connection id on its path` +
        (clients.length > 0
          ? ` (clients with traces: ${clients.sort().join(', ')})`
          : lab.readState()
            ? ''
            : `; lab "${lab.name}" is not up`),
    );
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
  else process.stdout.write(`${found.map(formatWaterfall).join('\n\n')}\n`);
  return 0;
}

/** The help text after the options. */
export const TRACE_HELP = `
Each daemon and pod of the lab writes its finished spans to <lab dir>/traces/<component>.jsonl
(NSM_TRACE_FILE). A client's request is the root of one trace; every hop adds a span under its
caller's: the manager and forwarder of each node on the path (their stages select, wire and dial
under them) and the endpoint. Name the connection by the client pod, or by any connection id on
its path (nsm status --json shows them; each hop has its own).

Examples:
  nsm trace hss                 the latest request of pod hss
  nsm trace hss --all           every request, refresh, heal and close of it
  nsm trace 6f1c...-...         by a connection id
  nsm trace hss --json | jq '.[0].spans[] | {service, name, ms: (.end - .start)}'`;

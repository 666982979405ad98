/** `nsm trace`: finding a connection's traces in recorded trace files and printing the waterfall. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SpanRecord } from '@nsm-ts/sdk/tracing';
import { formatWaterfall, groupTraces, readTraceDir, tracesOf } from './trace.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const T = 'a'.repeat(32);
const T2 = 'b'.repeat(32);

function span(
  p: Partial<SpanRecord> & Pick<SpanRecord, 'spanId' | 'name' | 'service'>,
  from: number,
  to: number,
): SpanRecord {
  return { traceId: T, kind: 'server', status: 'ok', attributes: {}, ...p, start: T0 + from, end: T0 + to };
}

/** A request of pod hss through node-2's manager and forwarder to endpoint mme-1, as the files hold it. */
const hss = [
  span(
    {
      spanId: '1',
      name: 'request',
      service: 'hss',
      kind: 'client',
      attributes: {
        'nsm.hop': 'hss',
        'nsm.connection.id': 'c-hss',
        'nsm.path.ids': ['c-hss', 'c-mgr', 'c-fwd', 'c-nse'],
        'nsm.network_service': '4g-network',
        'nsm.endpoint': 'mme-1',
        'nsm.mechanism': 'KERNEL',
        'nsm.request.attempt': 1,
      },
    },
    0,
    40,
  ),
  span(
    {
      spanId: '2',
      parentSpanId: '1',
      name: 'request',
      service: 'nsmgr-node-2',
      attributes: { 'nsm.connection.id': 'c-mgr' },
    },
    1,
    39,
  ),
  span({ spanId: '3', parentSpanId: '2', name: 'select', service: 'nsmgr-node-2', kind: 'internal' }, 1.5, 2),
  span(
    {
      spanId: '4',
      parentSpanId: '2',
      name: 'dial',
      service: 'nsmgr-node-2',
      kind: 'client',
      attributes: { 'nsm.stage': 'dial' },
    },
    2,
    38,
  ),
  span(
    {
      spanId: '5',
      parentSpanId: '4',
      name: 'request',
      service: 'forwarder-node-2',
      attributes: { 'nsm.connection.id': 'c-fwd' },
    },
    3,
    37,
  ),
  span(
    { spanId: '6', parentSpanId: '5', name: 'select', service: 'forwarder-node-2', kind: 'internal' },
    3,
    4,
  ),
  span(
    { spanId: '8', parentSpanId: '5', name: 'wire', service: 'forwarder-node-2', kind: 'internal' },
    20,
    36,
  ),
  span(
    {
      spanId: '7',
      parentSpanId: '5',
      name: 'dial',
      service: 'forwarder-node-2',
      kind: 'client',
      attributes: { 'nsm.stage': 'dial' },
    },
    4,
    20,
  ),
  span(
    {
      spanId: '9',
      parentSpanId: '7',
      name: 'request',
      service: 'mme-1',
      attributes: { 'nsm.connection.id': 'c-nse' },
    },
    5,
    19,
  ),
];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsm-traces-'));
  const byService = new Map<string, SpanRecord[]>();
  for (const s of hss) byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
  // A later refresh that failed at the manager, and its close.
  byService.get('hss')!.push(
    span(
      {
        traceId: T2,
        spanId: 'r1',
        name: 'request',
        service: 'hss',
        kind: 'client',
        status: 'error',
        statusMessage: 'no forwarder',
        attributes: { 'nsm.connection.id': 'c-hss', 'nsm.request.attempt': 2, 'nsm.code': 'NOT_FOUND' },
      },
      100,
      110,
    ),
  );
  for (const [service, spans] of byService)
    writeFileSync(join(dir, `${service}.jsonl`), spans.map((s) => JSON.stringify(s)).join('\n') + '\n');
  // A rotated file and an unrelated trace by another pod.
  writeFileSync(join(dir, 'pcrf.jsonl.1'), 'not json\n');
  writeFileSync(
    join(dir, 'pcrf.jsonl'),
    JSON.stringify({
      ...span({ spanId: 'p', name: 'request', service: 'pcrf', kind: 'client' }, 50, 60),
      traceId: 'c'.repeat(32),
    }) + '\n',
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('nsm trace', () => {
  it('prints the waterfall: each span under its parent, children by start, offsets, durations, bars', () => {
    const traces = groupTraces(readTraceDir(dir));
    const [trace] = tracesOf(traces, 'c-fwd', true);
    expect(formatWaterfall(trace!)).toBe(
      [
        `trace ${T}: request by hss for 4g-network at 2026-01-02T03:04:05.000Z, 40.0 ms, 9 spans`,
        'span               process           start ms    ms',
        'request            hss                    0.0  40.0  |████████████████████████████████████████|  conn=c-hss endpoint=mme-1 mechanism=KERNEL',
        '  request          nsmgr-node-2           1.0  38.0  | ██████████████████████████████████████ |  conn=c-mgr',
        '    select         nsmgr-node-2           1.5   0.5  | █                                      |',
        '    dial           nsmgr-node-2           2.0  36.0  |  ████████████████████████████████████  |',
        '      request      forwarder-node-2       3.0  34.0  |   ██████████████████████████████████   |  conn=c-fwd',
        '        select     forwarder-node-2       3.0   1.0  |   █                                    |',
        '        dial       forwarder-node-2       4.0  16.0  |    ████████████████                    |',
        '          request  mme-1                  5.0  14.0  |     ██████████████                     |  conn=c-nse',
        '        wire       forwarder-node-2      20.0  16.0  |                    ████████████████    |',
      ].join('\n'),
    );
  });

  it('finds a connection by any id on its path or by its client pod; the latest request by default', () => {
    const traces = groupTraces(readTraceDir(dir));
    expect(traces).toHaveLength(3);
    // The client's id and name find its latest request (the refresh); the other hops' ids, the one
    // request that reached them.
    for (const query of ['c-hss', 'hss'])
      expect(
        tracesOf(traces, query).map((t) => t.traceId),
        query,
      ).toEqual([T2]);
    for (const query of ['c-mgr', 'c-nse'])
      expect(
        tracesOf(traces, query).map((t) => t.traceId),
        query,
      ).toEqual([T]);
    expect(tracesOf(traces, 'hss', true).map((t) => t.traceId)).toEqual([T, T2]);
    expect(tracesOf(traces, 'pcrf').map((t) => t.spans.length)).toEqual([1]);
    expect(tracesOf(traces, 'nobody')).toEqual([]);
    const failed = formatWaterfall(tracesOf(traces, 'hss')[0]!);
    expect(failed).toContain('attempt=2 ERROR NOT_FOUND: no forwarder');
  });

  it('shows a span whose parent is in no file (a caller that exports nowhere) as a root of its own', () => {
    const orphan = { traceId: T, spans: hss.filter((s) => s.service !== 'hss') };
    const lines = formatWaterfall(orphan).split('\n');
    expect(lines[0]).toMatch(/: request by nsmgr-node-2 at /);
    expect(lines[2]).toMatch(/^request +nsmgr-node-2 +0\.0 {2}38\.0 {2}\|█/);
  });
});

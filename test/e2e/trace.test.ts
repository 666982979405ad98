/**
 * Tracing on the local lab, as root, with the 4G EPC on two nodes: `nsm trace hss` shows the hops of
 * hss's connection to mme (hss on node-2, mme on node-1): the client, node-2's manager and forwarder,
 * node-1's manager and forwarder, and the endpoint, each under the call of the hop before, with their
 * stages, every span within its parent; by a connection id of the path it shows the same trace.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '@nsm-ts/cli/lab';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import type { SpanRecord } from '@nsm-ts/sdk/tracing';
import { leftovers } from '../harness/leaks.js';
import { nsm, testLabName } from '../harness/nsm-cli.js';

interface Trace {
  traceId: string;
  spans: SpanRecord[];
}

/** Spans of different processes are compared on the wall clock of each: allow 1 ms between them. */
const CROSS_PROCESS_MS = 1;

describe.skipIf(!isRoot)(rootTitle('test/e2e/trace'), () => {
  const lab = testLabName('trace');

  beforeAll(async () => {
    const run = await nsm(lab, 'up', 'deploy/examples/4g-epc', '--nodes', '2', '--timeout', '90s');
    expect(run.code, run.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await nsm(lab, 'down');
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
  }, 60_000);

  async function traceOf(query: string): Promise<Trace> {
    const run = await nsm(lab, 'trace', query, '--json');
    expect(run.code, run.stderr).toBe(0);
    const traces = JSON.parse(run.stdout) as Trace[];
    expect(traces).toHaveLength(1);
    return traces[0]!;
  }

  it("shows the hops of hss's request to mme, parent by parent, each within its parent", async () => {
    const trace = await traceOf('hss');
    const { spans } = trace;
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const children = (s: SpanRecord): SpanRecord[] => spans.filter((c) => c.parentSpanId === s.spanId);
    const only = (list: SpanRecord[], name: string, where: string): SpanRecord => {
      const found = list.filter((s) => s.name === name);
      expect(found, `${name} under ${where}`).toHaveLength(1);
      return found[0]!;
    };
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([trace.traceId]));

    // The path: client, then per hop its request span, reached through the previous hop's dial.
    const root = spans.filter((s) => !s.parentSpanId || !byId.has(s.parentSpanId));
    expect(root.map((s) => [s.service, s.name, s.kind])).toEqual([['hss', 'request', 'client']]);
    const path: SpanRecord[] = [root[0]!];
    let hop = only(children(root[0]!), 'request', 'hss');
    for (;;) {
      path.push(hop);
      const below = children(hop);
      const dial = below.find((s) => s.name === 'dial');
      if (!dial) break;
      expect(
        below.filter((s) => s.name === 'select').length,
        `select of ${hop.service}`,
      ).toBeGreaterThanOrEqual(1);
      hop = only(children(dial), 'request', `${hop.service}'s dial`);
    }
    const endpoint = path.at(-1)!;
    expect(path.map((s) => s.service)).toEqual([
      'hss',
      'nsmgr-node-2',
      'forwarder-node-2',
      'nsmgr-node-1',
      'forwarder-node-1',
      endpoint.service,
    ]);
    expect(endpoint.service).toMatch(/^mme/);
    expect(endpoint.attributes['nsm.hop']).toMatch(/^mme/);
    // The forwarders built the wire (a VXLAN across the nodes): their wire stage is there.
    for (const fwd of path.filter((s) => s.service.startsWith('forwarder-')))
      expect(
        children(fwd).some((s) => s.name === 'wire'),
        `wire of ${fwd.service}`,
      ).toBe(true);
    for (const s of path) {
      expect(s.status, `${s.service} ${s.name}`).toBe('ok');
      expect(s.attributes['nsm.network_service']).toBe('4g-network');
      expect(s.attributes['nsm.connection.id']).toBeTruthy();
    }
    expect(root[0]!.attributes['nsm.endpoint']).toBe(endpoint.attributes['nsm.hop']);
    expect(new Set(path.map((s) => s.attributes['nsm.connection.id'])).size).toBe(path.length);

    // Every span starts after its parent and ends before it; a hop's stages take turns within it.
    for (const s of spans) {
      const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
      expect(s.end, `${s.service} ${s.name}`).toBeGreaterThanOrEqual(s.start);
      if (!parent) continue;
      const slack = parent.service === s.service ? 0 : CROSS_PROCESS_MS;
      expect(
        s.start,
        `${s.service} ${s.name} starts in ${parent.service} ${parent.name}`,
      ).toBeGreaterThanOrEqual(parent.start - slack);
      expect(s.end, `${s.service} ${s.name} ends in ${parent.service} ${parent.name}`).toBeLessThanOrEqual(
        parent.end + slack,
      );
    }
    for (const h of path.slice(1)) {
      const stages = children(h);
      const sum = stages.reduce((t, s) => t + (s.end - s.start), 0);
      expect(sum, `the stages of ${h.service}`).toBeLessThanOrEqual(h.end - h.start + 0.001);
    }
    // Each hop is inside the one before it: the durations shrink along the path.
    for (let i = 1; i < path.length; i++)
      expect(path[i]!.end - path[i]!.start).toBeLessThanOrEqual(
        path[i - 1]!.end - path[i - 1]!.start + CROSS_PROCESS_MS,
      );
  });

  it('prints the waterfall, and finds the same trace by a connection id on the path', async () => {
    const trace = await traceOf('hss');
    const text = await nsm(lab, 'trace', 'hss');
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^trace ${trace.traceId}: request by hss for 4g-network at .*, [\\d.]+ ms, ${trace.spans.length} spans$`,
      ),
    );
    expect(lines).toHaveLength(trace.spans.length + 2);
    for (const service of ['hss', 'nsmgr-node-2', 'forwarder-node-2', 'nsmgr-node-1', 'forwarder-node-1'])
      expect(
        lines.some((l) => new RegExp(`\\s${service}\\s+[\\d.]+\\s+[\\d.]+\\s+\\|[ █]+\\|`).test(l)),
        service,
      ).toBe(true);
    process.stdout.write(`${text.stdout}\n`);

    // The client's connection id (its status file), and the endpoint's: the same trace.
    const status = JSON.parse(readFileSync(join(new Lab(lab).podDir, 'hss.json'), 'utf8')) as {
      requests: { connectionId?: string }[];
    };
    const clientId = status.requests[0]?.connectionId;
    expect(clientId).toBeTruthy();
    expect((await traceOf(clientId!)).traceId).toBe(trace.traceId);
    const endpointId = trace.spans.find((s) => s.kind === 'server' && s.service.startsWith('mme'))
      ?.attributes['nsm.connection.id'];
    expect((await traceOf(String(endpointId))).traceId).toBe(trace.traceId);

    const missing = await nsm(lab, 'trace', 'no-such-pod');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /no trace of "no-such-pod" in .*traces: expected a client pod's name or a connection id on its path \(clients with traces: .*hss/,
    );
  });
});

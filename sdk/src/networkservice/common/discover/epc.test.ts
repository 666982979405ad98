/** The 4G EPC match table of docs/epc-4g.md: every interface label reaches exactly its endpoint. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { newRequest } from '../../../api/builders.js';
import { element, toHandler } from '../../../core/chain.js';
import { metadata } from '../../../core/metadata.js';
import { createContext } from '../../../core/context.js';
import { Code } from '../../../core/errors.js';
import { clientUrlOf } from '../clienturl/clienturl.js';
import { roundRobin } from '../roundrobin/roundrobin.js';
import { discoverCandidates } from './discover.js';
import { matchEndpoints } from './match.js';
import { endpoint, fakeNseRegistry, fakeNsRegistry, match, networkService } from './testing.js';

const table: [source: string, destination: string][] = [
  ['s1-mme', 'mme'],
  ['s6a', 'mme'],
  ['s11', 'mme'],
  ['s5s8-c', 'p-gw-c'],
  ['gx', 'p-gw-c'],
  ['sxb', 'p-gw-c'],
  ['s1-u', 's-gw-u'],
  ['sxa', 's-gw-u'],
  ['s5s8-u', 's-gw-u'],
  ['sgi', 'tdf-u'],
  ['sxc', 'tdf-u'],
];

const service = networkService(
  '4g-network',
  table.map(([src, dst]) => match({ app: src }, [{ app: dst }])),
);
const endpoints = ['mme', 'p-gw-c', 's-gw-u', 'tdf-u'].map((app) => endpoint(app, ['4g-network'], { app }));

function epcChain() {
  const reached: { nse: string; url: string | undefined }[] = [];
  const sink = element({
    request: (ctx, req, next) => {
      reached.push({ nse: req.connection?.network_service_endpoint_name ?? '', url: clientUrlOf(ctx) });
      return next.request(ctx, req);
    },
  });
  const handler = toHandler([
    metadata('server'),
    discoverCandidates({ nse: fakeNseRegistry(endpoints), ns: fakeNsRegistry([service]) }),
    roundRobin({ random: () => 0 }),
    sink,
  ]);
  return { handler, reached };
}

describe('4G EPC selection', () => {
  it('is the match table the shipped example deploys, in its order', () => {
    // The example users run (deploy/examples/4g-epc) must route exactly as this table does.
    const file = fileURLToPath(
      new URL('../../../../../deploy/examples/4g-epc/network-service.yaml', import.meta.url),
    );
    const shipped = parse(readFileSync(file, 'utf8')) as {
      spec: {
        matches: { source_selector: { app: string }; routes: { destination_selector: { app: string } }[] }[];
      };
    };
    expect(
      shipped.spec.matches.map((m) => [
        m.source_selector.app,
        ...m.routes.map((r) => r.destination_selector.app),
      ]),
    ).toEqual(table);
  });

  it.each(table)('app=%s reaches %s and only it', async (src, dst) => {
    const labels = { app: src, nodeName: 'node-1', podName: 'client' };
    expect(matchEndpoints(service, endpoints, labels).candidates.map((c) => c.nse.name)).toEqual([dst]);

    const { handler, reached } = epcChain();
    const conn = await handler.request(
      createContext(),
      newRequest({ id: `c-${src}`, network_service: '4g-network', labels }),
    );
    expect(conn.network_service_endpoint_name).toBe(dst);
    expect(conn.payload).toBe('IP');
    expect(reached).toEqual([{ nse: dst, url: `unix:///run/nsm/${dst}.sock` }]);
  });

  it.each([
    [{ app: 'x2' }, '{app=x2}'],
    [{}, '{}'],
    [{ podName: 'hss' }, '{podName=hss}'],
  ])('labels %j fail with the service and labels in the message', async (labels, shown) => {
    const { handler, reached } = epcChain();
    const failed = handler.request(
      createContext(),
      newRequest({ id: 'c-bad', network_service: '4g-network', labels }),
    );
    await expect(failed).rejects.toMatchObject({ code: Code.NOT_FOUND });
    await expect(failed).rejects.toThrow(
      `no endpoint of network service "4g-network" matches labels ${shown}: `,
    );
    await expect(failed).rejects.toThrow(/tried matches \[app=s1-mme → app=mme; .*app=sxc → app=tdf-u\]/);
    expect(reached).toEqual([]);
  });
});

/** The committed TypeScript types in proto/gen must be exactly what the generator makes of the .proto files. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'nsm-proto-gen-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

it('regenerating proto/gen changes nothing', () => {
  execFileSync(process.execPath, [join(root, 'scripts/gen-proto.mjs'), out], { stdio: 'pipe' });
  const committed = join(root, 'proto/gen');
  expect(files(out)).toEqual(files(committed));
  for (const file of files(out)) {
    expect(readFileSync(join(out, file), 'utf8'), file).toBe(readFileSync(join(committed, file), 'utf8'));
  }
});

it('keeps the NSM API v1 wire names: packages, services and field numbers', async () => {
  const { protos } = await import('../src/loader.js');
  const p = protos();
  expect(Object.keys(p.networkservice.NetworkService.service)).toEqual(['Request', 'Close']);
  expect(p.networkservice.NetworkService.service.Request.path).toBe('/networkservice.NetworkService/Request');
  expect(p.connection.MonitorConnection.service.MonitorConnections.path).toBe(
    '/connection.MonitorConnection/MonitorConnections',
  );
  expect(p.registry.NetworkServiceEndpointRegistry.service.Find.path).toBe(
    '/registry.NetworkServiceEndpointRegistry/Find',
  );
  const conn = p.connection.Connection as unknown as { type: { field: { name: string; number: number }[] } };
  expect(conn.type.field.map((f) => [f.name, f.number])).toEqual([
    ['id', 1],
    ['network_service', 2],
    ['mechanism', 3],
    ['context', 4],
    ['labels', 5],
    ['path', 6],
    ['network_service_endpoint_name', 7],
    ['payload', 8],
    ['state', 9],
  ]);
});

it('serves the SPIFFE Workload API at its upstream method path', async () => {
  const { workloadApiProtos } = await import('../src/loader.js');
  const api = workloadApiProtos().SpiffeWorkloadAPI.service;
  expect(api.FetchX509SVID.path).toBe('/SpiffeWorkloadAPI/FetchX509SVID');
  const svid = workloadApiProtos().X509SVID as unknown as {
    type: { field: { name: string; number: number }[] };
  };
  expect(svid.type.field.map((f) => [f.name, f.number])).toEqual([
    ['spiffe_id', 1],
    ['x509_svid', 2],
    ['x509_svid_key', 3],
    ['bundle', 4],
    ['hint', 5],
  ]);
});

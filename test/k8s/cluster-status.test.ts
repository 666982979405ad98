/**
 * `nsm status --kubeconfig`, run as a user would, against the Kubernetes API test server (the
 * registry's custom resources and the nsmgr DaemonSet's pods) and a real manager: services and
 * endpoints come from the CRs, the connections from the manager's monitor read with an operator
 * identity; without an identity it says what it needs; a bad kubeconfig or context is refused, exit 2.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSvid, writeIdentity } from '@nsm-ts/cli/pki';
import { createMesh, type Mesh } from '../../bench/src/mesh/mesh.js';
import { registerService } from '../../bench/src/mesh/services.js';
import { CRD_RESOURCES, startKubeApi, type KubeApi } from '../harness/kube-api/server.js';

const cli = join(import.meta.dirname, '..', '..', 'cli', 'dist', 'main.js');
const NAMESPACE = 'nsm-system';
let api: KubeApi;
let mesh: Mesh;
let dir: string;

function nsm(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  api = await startKubeApi({
    resources: [...CRD_RESOURCES, { group: '', version: 'v1', plural: 'pods', kind: 'Pod' }],
  });
  mesh = await createMesh({ nodes: 1 });
  await registerService(mesh, { name: 'svc' });
  await mesh.endpoint(1, { name: 'nse-a', serviceNames: ['svc'], cidrPrefix: '10.80.0.0/24' });
  await mesh.client(1, { name: 'nsc' }).request({ networkService: 'svc', mechanisms: ['NOOP'] });
  const cr = (kind: string, name: string, spec: object) =>
    ({ apiVersion: 'networkservicemesh.io/v1', kind, metadata: { name }, spec }) as never;
  api.store.create('networkservices', NAMESPACE, cr('NetworkService', 'svc', { payload: 'ETHERNET' }));
  api.store.create(
    'networkserviceendpoints',
    NAMESPACE,
    cr('NetworkServiceEndpoint', 'nse-a', { network_service_names: ['svc'], url: 'tcp://10.0.0.1:5001' }),
  );
  api.store.create(
    'networkserviceendpoints',
    NAMESPACE,
    cr('NetworkServiceEndpoint', 'broken', { network_service_names: 'svc' }),
  );
  api.store.create('pods', NAMESPACE, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'nsmgr-x7k2p', labels: { app: 'nsmgr' } },
    spec: { nodeName: 'node-1' },
    status: { phase: 'Running', hostIP: '127.0.0.1' },
  } as never);
  dir = mkdtempSync(join(tmpdir(), 'nsm-cluster-status-'));
  writeFileSync(join(dir, 'kubeconfig'), api.kubeConfig().exportConfig());
  const svid = await issueSvid(mesh.pki!.ca, { id: mesh.pki!.id('operator', 'me'), lifetimeMs: 600_000 });
  writeIdentity(join(dir, 'operator'), svid, mesh.pki!.ca.certPem);
}, 30_000);

afterAll(async () => {
  await mesh.close();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

const port = () => new URL(mesh.node(1).managerTcpUrl).port;

describe('nsm status --kubeconfig', () => {
  it("shows the cluster's services, endpoints, managers and connections", async () => {
    const args = ['status', '--kubeconfig', join(dir, 'kubeconfig'), '--manager-port', port()];
    const run = await nsm(...args, '--identity', join(dir, 'operator'), '--json');
    expect(run.code, run.stderr).toBe(0);
    const status = JSON.parse(run.stdout) as {
      services: { name: string; payload: string }[];
      endpoints: { name: string }[];
      unreadable: string[];
      managers: { pod: string; node: string; error?: string }[];
      connections: { client: string; endpoint: string; service: string; managers: string[] }[];
    };
    expect(status.services).toEqual([expect.objectContaining({ name: 'svc', payload: 'ETHERNET' })]);
    expect(status.endpoints.map((e) => e.name)).toEqual(['nse-a']);
    expect(status.unreadable).toEqual([
      expect.stringContaining('"broken" has a spec that is not a network_service_endpoint'),
    ]);
    expect(status.managers).toEqual([expect.objectContaining({ pod: 'nsmgr-x7k2p', node: 'node-1' })]);
    expect(status.managers[0]!.error).toBeUndefined();
    expect(status.connections).toEqual([
      expect.objectContaining({
        client: 'nsc',
        endpoint: 'nse-a',
        service: 'svc',
        managers: ['nsmgr-node-1'],
      }),
    ]);
    const text = await nsm(...args, '--identity', join(dir, 'operator'));
    expect(text.stdout).toMatch(/MANAGER +NODE +PHASE/);
    expect(text.stdout).toMatch(/nsc +nse-a +svc/);
    expect(text.stdout).toContain('warning: custom resource NetworkServiceEndpoint "broken"');
  });

  it('says what it needs to show connections without an identity', async () => {
    const run = await nsm('status', '--kubeconfig', join(dir, 'kubeconfig'), '--manager-port', port());
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('not shown: connections need mTLS: give --identity <dir>');
  });

  it('refuses a missing kubeconfig, an unknown context and a bad port, exit 2', async () => {
    const missing = await nsm('status', '--kubeconfig', join(dir, 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--kubeconfig ${join(dir, 'nope')}:`);
    const context = await nsm('status', '--kubeconfig', join(dir, 'kubeconfig'), '--context', 'prod');
    expect(context.code).toBe(2);
    expect(context.stderr).toContain('--context prod: not in');
    expect(context.stderr).toContain('expected one of test');
    const bad = await nsm('status', '--kubeconfig', join(dir, 'kubeconfig'), '--manager-port', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--manager-port 0: expected a port from 1 to 65535');
  });
});

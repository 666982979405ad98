/**
 * The admission webhook daemon against the Kubernetes API test server: run as a process with a
 * kubeconfig and no certificate files, it registers its MutatingWebhookConfiguration (valid as one,
 * its caBundle the certificate it then serves), answers /ready over HTTPS trusted through that bundle,
 * reads Pod annotations of namespaces, replaces its configuration when restarted, says what the API
 * refused, and refuses a bad configuration with exit 2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { namespaceAnnotations } from '@nsm-ts/cli/webhook';
import { startKubeApi, type KubeApi } from '../harness/kube-api/server.js';
import { freePort } from '../../bench/src/mesh/ports.js';

const main = join(import.meta.dirname, '..', '..', 'cli', 'dist', 'webhook', 'main.js');
const MWC = {
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  plural: 'mutatingwebhookconfigurations',
  kind: 'MutatingWebhookConfiguration',
  clusterScoped: true,
};
const NAMESPACE = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', clusterScoped: true };

let api: KubeApi;
let dir: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  api = await startKubeApi({ resources: [MWC, NAMESPACE] });
  dir = mkdtempSync(join(tmpdir(), 'nsm-webhook-'));
  writeFileSync(join(dir, 'kubeconfig'), api.kubeConfig().exportConfig());
});

afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill('SIGTERM');
    await new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)));
  }
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(env: Record<string, string>): {
  child: ChildProcess;
  exit: Promise<number>;
  output: () => string;
} {
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env['PATH'] ?? '',
      KUBECONFIG: join(dir, 'kubeconfig'),
      NSM_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exit = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
  return { child, exit, output: () => out };
}

function ready(port: number, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/ready', ca, servername: 'nsm-webhook-svc.nsm-system.svc' },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

describe('nsm-webhook daemon', () => {
  it('registers its configuration, serves /ready over HTTPS trusted by its caBundle, and replaces it on restart', async () => {
    const port = await freePort();
    const env = {
      NSM_CONTAINER_IMAGE: 'nsm-ts/nsm:0.1.0',
      NSM_PORT: String(port),
      NSM_NAMESPACE: 'nsm-system',
    };
    const first = run(env);
    await expect.poll(() => api.store.list(MWC.plural, '').length, { timeout: 10_000 }).toBe(1);
    const [mwc] = api.store.list(MWC.plural, '');
    expect(() => new MutatingWebhookConfiguration(mwc as never).validate()).not.toThrow();
    const hook = (mwc as unknown as { webhooks: { clientConfig: { caBundle: string; service: object } }[] })
      .webhooks[0]!;
    expect(hook.clientConfig.service).toEqual({
      name: 'nsm-webhook-svc',
      namespace: 'nsm-system',
      path: '/mutate',
      port: 443,
    });
    const ca = Buffer.from(hook.clientConfig.caBundle, 'base64').toString();
    await expect.poll(() => ready(port, ca), { timeout: 10_000 }).toBe(200);
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);

    const second = run(env);
    await expect
      .poll(() => api.served.some((s) => s.method === 'PUT' && s.code === 200), { timeout: 10_000 })
      .toBe(true);
    const [replaced] = api.store.list(MWC.plural, '');
    expect(replaced!.metadata.generation).toBe(2);
    const ca2 = Buffer.from(
      (replaced as unknown as { webhooks: { clientConfig: { caBundle: string } }[] }).webhooks[0]!
        .clientConfig.caBundle,
      'base64',
    ).toString();
    await expect.poll(() => ready(port, ca2), { timeout: 10_000 }).toBe(200);
    expect(await ready(port, ca)).toBe(0); // the old certificate is gone with the old process
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  }, 40_000);

  it('says what the API refused, exit 1, and refuses a bad configuration, exit 2', async () => {
    api.faults.fail(403, 1, { method: 'POST' });
    const denied = run({ NSM_CONTAINER_IMAGE: 'nsm-ts/nsm:0.1.0', NSM_PORT: String(await freePort()) });
    expect(await denied.exit).toBe(1);
    expect(denied.output()).toContain('cannot register MutatingWebhookConfiguration nsm-webhook');
    expect(denied.output()).toContain('needs create, get and update on mutatingwebhookconfigurations');
    const bad = run({ NSM_PORT: 'x', NSM_CERT_FILE_PATH: '/tmp/cert.pem' });
    expect(await bad.exit).toBe(2);
    expect(bad.output()).toContain('NSM_CONTAINER_IMAGE is not set');
    expect(bad.output()).toContain('NSM_PORT="x": expected an integer from 1 to 65535');
    expect(bad.output()).toContain('NSM_CERT_FILE_PATH and NSM_KEY_FILE_PATH go together');
  }, 20_000);

  it("reads a namespace's annotations, and none of a namespace the API does not show", async () => {
    api.store.create('namespaces', '', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'epc', annotations: { 'networkservicemesh.io': 'kernel://4g-network/nsm-0' } },
    } as never);
    const read = namespaceAnnotations(api.kubeConfig());
    expect(await read('epc')).toEqual({ 'networkservicemesh.io': 'kernel://4g-network/nsm-0' });
    expect(await read('absent')).toEqual({});
  });
});

/**
 * The admission webhook over real HTTPS with real AdmissionReview bodies: an annotated workload gets
 * the client containers through a JSON Patch that, applied with a JSON Patch library, gives a pod spec
 * that validates as a Pod; Pods are annotated directly or through their namespace; objects without the
 * annotation, ReplicaSets of Deployments and updates pass unchanged; bad bodies get a 400 naming the
 * problem and a malformed annotation is refused with its reason.
 */
import { request } from 'node:https';
import fastJsonPatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@nsm-ts/sdk/core';
import { selfSignedServerCert, type ServerCert } from '../pki/server-cert.js';
import { MUTATE_DEFAULTS, mutate } from './mutate.js';
import { startWebhook, type RunningWebhook } from './server.js';

let cert: ServerCert;
let hook: RunningWebhook;

beforeAll(async () => {
  cert = await selfSignedServerCert({
    dnsNames: ['nsm-webhook.nsm-system.svc', 'localhost'],
    lifetimeMs: 3_600_000,
  });
  hook = await startWebhook({
    ...MUTATE_DEFAULTS,
    image: 'ghcr.io/nsm-ts/nsm:0.1.0',
    labels: { 'networkservicemesh.io/client': 'injected', app: 'not-this' },
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    host: '127.0.0.1',
    port: 0,
    log: silentLogger,
    namespaceAnnotations: (ns) =>
      Promise.resolve(ns === 'epc' ? { 'networkservicemesh.io': 'kernel://4g-network/nsm-0?app=s6a' } : {}),
  });
});

afterAll(async () => {
  await hook.close();
});

function post(path: string, body: string, method = 'POST'): Promise<{ code: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: hook.port, path, method, ca: cert.certPem, servername: 'localhost' },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface Answer {
  response: {
    uid: string;
    allowed: boolean;
    patchType?: string;
    patch?: string;
    status?: { message: string };
  };
}

async function review(kind: string, object: unknown, extra: Record<string, unknown> = {}): Promise<Answer> {
  const body = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'b9a6d5f8-7d61-4d3a-9a7e-1f0c2f2d9a11',
      kind: { group: kind === 'Pod' ? '' : 'apps', version: 'v1', kind },
      resource: { group: '', version: 'v1', resource: `${kind.toLowerCase()}s` },
      operation: 'CREATE',
      namespace: 'default',
      object,
      ...extra,
    },
  };
  const res = await post('/mutate', JSON.stringify(body));
  expect(res.code, res.text).toBe(200);
  const answer = JSON.parse(res.text) as Answer & { apiVersion: string; kind: string };
  expect(answer.apiVersion).toBe('admission.k8s.io/v1');
  expect(answer.response.uid).toBe('b9a6d5f8-7d61-4d3a-9a7e-1f0c2f2d9a11');
  return answer;
}

function patched<T>(object: T, answer: Answer): T {
  expect(answer.response.patchType).toBe('JSONPatch');
  const ops = JSON.parse(
    Buffer.from(answer.response.patch!, 'base64').toString(),
  ) as fastJsonPatch.Operation[];
  return fastJsonPatch.applyPatch(structuredClone(object), ops, true, false).newDocument;
}

const app = { name: 'mme', image: 'registry.example/mme:1.0', ports: [{ containerPort: 36412 }] };
const deployment = (annotations: Record<string, string>, on: 'template' | 'object' = 'template') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'hss', namespace: 'default', ...(on === 'object' ? { annotations } : {}) },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'hss' } },
    template: {
      metadata: { labels: { app: 'hss', tier: 'core' }, ...(on === 'template' ? { annotations } : {}) },
      spec: { containers: [app], volumes: [{ name: 'config', emptyDir: {} }] },
    },
  },
});
const annotation = { 'networkservicemesh.io': 'kernel://4g-network/nsm-0?app=s6a' };

describe('admission webhook', () => {
  it('gives an annotated Deployment the client containers; the patched template validates as a Pod', async () => {
    const object = deployment(annotation);
    const after = patched(object, await review('Deployment', object));
    const spec = after.spec.template.spec as unknown as {
      initContainers: { name: string; args: string[]; env: { name: string; value?: string }[] }[];
      containers: { name: string; env?: { name: string; value?: string }[] }[];
      volumes: { name: string; hostPath?: { path: string } }[];
    };
    expect(() => new Pod({ metadata: after.spec.template.metadata, spec: spec }).validate()).not.toThrow();
    expect(spec.initContainers.map((c) => c.name)).toEqual(['nsm-client-init']);
    expect(spec.containers.map((c) => c.name)).toEqual(['mme', 'nsm-client']);
    expect(spec.volumes).toContainEqual({
      name: 'nsm-socket',
      hostPath: { path: '/var/lib/networkservicemesh', type: 'Directory' },
    });
    const env = Object.fromEntries(spec.initContainers[0]!.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      NSM_NETWORK_SERVICES: 'kernel://4g-network/nsm-0?app=s6a',
      NSM_CONNECT_TO: 'unix:///var/lib/networkservicemesh/nsm.io.sock',
      SPIFFE_ENDPOINT_SOCKET: 'unix:///run/spire/sockets/agent.sock',
      NSM_POD_STATUS: '/var/run/nsm-client/status.json',
    });
    // The init container hands its connections to the sidecar through a shared status file.
    expect(spec.volumes).toContainEqual({ name: 'nsm-client-state', emptyDir: {} });
    for (const c of [spec.initContainers[0]!, spec.containers[1]!] as unknown as {
      volumeMounts: { name: string; mountPath: string }[];
    }[])
      expect(c.volumeMounts).toContainEqual({ name: 'nsm-client-state', mountPath: '/var/run/nsm-client' });
    expect(spec.volumes).toContainEqual({
      name: 'nsm-spire-agent-socket',
      hostPath: { path: '/run/spire/sockets', type: 'Directory' },
    });
    expect(spec.initContainers[0]!.env).toContainEqual({
      name: 'NSM_NAME',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    // The webhook's labels join the pod's; the pod's own win.
    expect(after.spec.template.metadata.labels).toEqual({
      app: 'hss',
      tier: 'core',
      'networkservicemesh.io/client': 'injected',
    });
    // The app's own container is untouched.
    expect(spec.containers[0]).toEqual(app);
  });

  it('gives the clients an identity from the mesh issuer when told: a projected token and the trust bundle', () => {
    const object = deployment(annotation);
    const decision = mutate(
      'Deployment',
      object,
      {},
      {
        ...MUTATE_DEFAULTS,
        image: 'ghcr.io/nsm-ts/nsm:0.1.0',
        spireSocketDir: '',
        issuerUrl: 'https://nsm-issuer.nsm-system.svc',
      },
    );
    expect(decision.allowed).toBe(true);
    const after = patched(object, {
      response: {
        uid: '',
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(JSON.stringify(decision.allowed ? decision.patch : [])).toString('base64'),
      },
    });
    const spec = after.spec.template.spec as unknown as {
      initContainers: {
        env: { name: string; value?: string }[];
        volumeMounts: { name: string; mountPath: string }[];
      }[];
      volumes: Record<string, unknown>[];
    };
    expect(() =>
      new Pod({ metadata: after.spec.template.metadata, spec: spec as never }).validate(),
    ).not.toThrow();
    const init = spec.initContainers[0]!;
    expect(init.env).toContainEqual({ name: 'NSM_ISSUER_URL', value: 'https://nsm-issuer.nsm-system.svc' });
    expect(init.env.map((e) => e.name)).not.toContain('SPIFFE_ENDPOINT_SOCKET');
    // The mounts put the files where the SDK looks by default (NSM_ISSUER_TOKEN_FILE, NSM_ISSUER_CA_FILE).
    expect(init.volumeMounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'nsm-issuer-token', mountPath: '/var/run/secrets/nsm-issuer' }),
        expect.objectContaining({ name: 'nsm-trust-bundle', mountPath: '/var/run/nsm-trust' }),
      ]),
    );
    expect(spec.volumes).toContainEqual({
      name: 'nsm-issuer-token',
      projected: {
        sources: [
          { serviceAccountToken: { audience: 'nsm-issuer', expirationSeconds: 3600, path: 'token' } },
        ],
      },
    });
    expect(spec.volumes).toContainEqual({
      name: 'nsm-trust-bundle',
      configMap: { name: 'nsm-trust-bundle', items: [{ key: 'bundle.pem', path: 'bundle.pem' }] },
    });
  });

  it.each(['StatefulSet', 'DaemonSet'])(
    'reads the annotation on a %s itself as well as on its template',
    async (kind) => {
      const object = { ...deployment(annotation, 'object'), kind };
      const after = patched(object, await review(kind, object));
      expect(after.spec.template.spec.containers.map((c) => c.name)).toEqual(['mme', 'nsm-client']);
    },
  );

  it('injects into an annotated Pod, or a Pod of an annotated namespace', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hss-0', annotations: annotation },
      spec: { containers: [app] },
    };
    const direct = patched(pod, await review('Pod', pod));
    expect(() => new Pod(direct as never).validate()).not.toThrow();
    const plain = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hss-1' }, spec: { containers: [app] } };
    const viaNamespace = patched(plain, await review('Pod', plain, { namespace: 'epc' }));
    expect(viaNamespace.spec.containers.map((c) => c.name)).toEqual(['mme', 'nsm-client']);
  });

  it('allows unchanged: no annotation, a ReplicaSet of a Deployment, an update, an injected pod', async () => {
    const none = deployment({});
    const { uid, ...rest } = (await review('Deployment', none)).response;
    expect(uid).toBeTruthy();
    expect(rest).toEqual({ allowed: true });
    const owned = {
      ...deployment(annotation),
      kind: 'ReplicaSet',
      metadata: {
        name: 'hss-5d8f',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'hss', uid: 'u' }],
      },
    };
    expect((await review('ReplicaSet', owned)).response.patch).toBeUndefined();
    expect(
      (await review('Deployment', deployment(annotation), { operation: 'UPDATE' })).response.patch,
    ).toBeUndefined();
    const once = patched(deployment(annotation), await review('Deployment', deployment(annotation)));
    expect((await review('Deployment', once)).response.patch).toBeUndefined();
  });

  it('refuses a malformed annotation, naming it and what was expected', async () => {
    const answer = await review(
      'Deployment',
      deployment({ 'networkservicemesh.io': 'kernel://4g-network/nsm-0?app' }),
    );
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status?.message).toContain(
      'annotation networkservicemesh.io: "kernel://4g-network/nsm-0?app"',
    );
    expect(answer.response.status?.message).toContain('expected key=value');
  });

  it.each([
    ['not json', 'the body is not JSON'],
    ['{"kind":"Pod"}', 'the body is not an AdmissionReview'],
    [
      '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1","request":{"uid":"u"}}',
      'admission.k8s.io/v1beta1 is not served',
    ],
    ['{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{}}', 'no request.uid'],
    [
      '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u","kind":{"kind":"Deployment"},"operation":"CREATE","object":{"metadata":{}}}}',
      'Deployment has no spec.template',
    ],
    [
      '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"metadata":{"annotations":{"networkservicemesh.io":"kernel://s/nsm-0"}},"spec":{}}}}',
      'has no containers',
    ],
  ])('answers 400 to %s, naming the problem', async (body, why) => {
    const res = await post('/mutate', body);
    expect(res.code).toBe(400);
    expect(res.text).toContain(why);
  });

  it('is ready over HTTPS, and names the paths it serves', async () => {
    expect(await post('/ready', '', 'GET')).toEqual({ code: 200, text: 'ready\n' });
    expect((await post('/other', '')).code).toBe(404);
    expect((await post('/mutate', '', 'GET')).code).toBe(405);
  });
});

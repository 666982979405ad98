/**
 * The Kubernetes manifests of deploy/k8s: every kustomization renders with `kubectl kustomize`, every
 * object it renders validates against the Kubernetes OpenAPI schemas (kubernetes-models), RBAC grants
 * no wildcard (custom resources against our CRDs), every container of ours runs a component the image's entrypoint knows, and that
 * entrypoint starts each component (run here against the checkout, as no image can be built on this
 * machine).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { MUTATE_DEFAULTS, issuerVolumes, mutate } from '@nsm-ts/cli/webhook';
import { crProblems } from '../harness/crd-schema.js';

const root = join(import.meta.dirname, '..', '..');
const k8s = join(root, 'deploy', 'k8s');
const entrypoint = join(root, 'deploy', 'docker', 'entrypoint.sh');
const COMPONENTS = ['registry', 'nsmgr', 'forwarder', 'webhook', 'issuer', 'nsc', 'nse', 'nsm'];

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

const kustomizations = readdirSync(k8s, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('kustomization.yaml'))
  .map((f) => dirname(join(k8s, f)));

function render(dir: string): Obj[] {
  const text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  return parseAllDocuments(text).map((d) => d.toJSON() as Obj);
}

/** Validates `obj` with the kubernetes-models class of its apiVersion and kind. */
async function validate(obj: Obj): Promise<void> {
  if (obj.apiVersion === 'networkservicemesh.io/v1') {
    const problems = crProblems(obj);
    if (problems.length > 0) throw new Error(problems.join('; '));
    return;
  }
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const module = (await import(`kubernetes-models/${group ? `${group}/` : ''}${version}`)) as Record<
    string,
    new (o: unknown) => { validate(): void }
  >;
  const Model = module[obj.kind];
  if (!Model) throw new Error(`${obj.apiVersion} ${obj.kind} has no schema in kubernetes-models`);
  new Model(obj).validate();
}

function podSpecs(obj: Obj): { containers: { name: string; image: string; args?: string[] }[] }[] {
  const spec = obj['spec'] as { template?: { spec: never }; containers?: unknown } | undefined;
  if (obj.kind === 'Pod') return [spec as never];
  return spec?.template ? [spec.template.spec] : [];
}

describe('deploy/k8s', () => {
  it('has the base kustomization', () => {
    expect(kustomizations.map((d) => relative(k8s, d))).toContain('base');
  });

  it.each(kustomizations.map((d) => [relative(k8s, d), d]))(
    '%s renders, and every object validates against the Kubernetes schemas',
    async (_name, dir) => {
      const objects = render(dir);
      expect(objects.length).toBeGreaterThan(0);
      for (const obj of objects) {
        await expect(validate(obj), `${obj.kind} ${obj.metadata.name}`).resolves.toBeUndefined();
      }
    },
  );

  it('grants least privilege: no wildcard in any rule', () => {
    for (const dir of kustomizations)
      for (const obj of render(dir).filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole'))
        for (const rule of obj['rules'] as Record<string, string[]>[])
          for (const field of ['apiGroups', 'resources', 'verbs'])
            expect(rule[field], `${obj.kind} ${obj.metadata.name} ${field}`).not.toContain('*');
  });

  it('runs, in every container of ours, a component the entrypoint knows, from the released image', () => {
    const objects = render(join(k8s, 'base'));
    const ours = objects.flatMap(podSpecs).flatMap((s) => s.containers);
    expect(ours.length).toBeGreaterThanOrEqual(4);
    for (const c of ours) {
      expect(c.image).toBe('ghcr.io/nsm-ts/nsm:0.1.0');
      expect(COMPONENTS).toContain(c.args?.[0]);
    }
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Namespace/nsm-system',
        'CustomResourceDefinition/networkservices.networkservicemesh.io',
        'CustomResourceDefinition/networkserviceendpoints.networkservicemesh.io',
        'Deployment/registry',
        'Service/registry',
        'DaemonSet/nsmgr',
        'Deployment/nsm-webhook',
        'Service/nsm-webhook-svc',
        'Deployment/nsm-issuer',
        'Service/nsm-issuer',
        'MutatingWebhookConfiguration/nsm-webhook',
      ]),
    );
    const registry = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'registry')!;
    expect((registry['spec'] as { replicas: number }).replicas).toBe(2);
  });

  it('gives every mesh container an identity from the issuer in the base, and from SPIRE in overlays/spire', () => {
    type Spec = {
      containers: {
        name: string;
        args: string[];
        env?: { name: string; value?: string }[];
        volumeMounts?: { mountPath: string }[];
      }[];
      volumes?: { name: string; projected?: unknown; configMap?: { name: string } }[];
    };
    const meshPods = (objects: Obj[]) =>
      objects
        .filter(
          (o) =>
            ['registry', 'nsmgr'].includes(o.metadata.name) && ['Deployment', 'DaemonSet'].includes(o.kind),
        )
        .map((o) => podSpecs(o)[0] as unknown as Spec);
    for (const spec of meshPods(render(join(k8s, 'base')))) {
      // The same projected token the webhook gives client pods.
      expect(spec.volumes).toContainEqual(issuerVolumes('nsm-trust-bundle')[0]);
      expect(spec.volumes).toContainEqual({
        name: 'nsm-trust-bundle',
        configMap: { name: 'nsm-trust-bundle' },
      });
      for (const c of spec.containers) {
        expect(c.env, c.name).toContainEqual({
          name: 'NSM_ISSUER_URL',
          value: 'https://nsm-issuer.nsm-system.svc:443',
        });
        expect(
          c.volumeMounts?.map((m) => m.mountPath),
          c.name,
        ).toEqual(expect.arrayContaining(['/var/run/secrets/nsm-issuer', '/var/run/nsm-trust']));
      }
    }
    const spire = render(join(k8s, 'overlays', 'spire'));
    expect(JSON.stringify(spire)).not.toMatch(/nsm-issuer|nsm-trust/);
    for (const spec of meshPods(spire))
      for (const c of spec.containers)
        expect(c.env, c.name).toContainEqual({
          name: 'SPIFFE_ENDPOINT_SOCKET',
          value: 'unix:///run/spire/sockets/agent.sock',
        });
  });

  it('injects, through the webhook, client containers that run a component of the image the base names', () => {
    const webhook = render(join(k8s, 'base')).find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'nsm-webhook',
    )!;
    const env = (
      podSpecs(webhook)[0]!.containers[0] as unknown as { env: { name: string; value?: string }[] }
    ).env;
    const image = env.find((e) => e.name === 'NSM_CONTAINER_IMAGE')!.value!;
    const pod = {
      metadata: { name: 'p', annotations: { 'networkservicemesh.io': 'kernel://svc/nsm-0' } },
      spec: { containers: [{ name: 'app', image: 'app' }] },
    };
    const decision = mutate('Pod', pod, {}, { ...MUTATE_DEFAULTS, image });
    expect(decision.allowed && decision.patch).toBeTruthy();
    const injected = JSON.stringify(decision.allowed ? decision.patch : []);
    const commands = [...injected.matchAll(/"args":\["([^"]+)"/g)].map((m) => m[1]);
    expect(commands).toEqual(['nsc', 'nsc']);
    for (const c of commands) expect(COMPONENTS).toContain(c);
    expect(injected).toContain('"image":"ghcr.io/nsm-ts/nsm:0.1.0"');
  });

  it("deploys the lab's 4G EPC YAML beside the mesh: pods in epc, placed by the scheduler, endpoints running nse", () => {
    const objects = render(join(k8s, 'overlays', '4g-epc'));
    const epc = objects.filter((o) => o.metadata.namespace === 'epc');
    expect(epc.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'Deployment/mme',
        'Deployment/p-gw-c',
        'Deployment/s-gw-u',
        'Deployment/tdf-u',
        'Pod/hss',
        'Pod/p-gw-u',
        'Pod/pcrf',
        'Pod/s-gw-c',
        'Pod/tdf-c',
      ].sort(),
    );
    expect(JSON.stringify(epc)).not.toContain('"nodeName"');
    for (const d of epc.filter((o) => o.kind === 'Deployment'))
      expect(podSpecs(d)[0]!.containers[0]).toMatchObject({
        image: 'ghcr.io/nsm-ts/nsm:0.1.0',
        args: ['nse'],
      });
    for (const p of epc.filter((o) => o.kind === 'Pod'))
      expect(
        (p.metadata as { annotations?: Record<string, string> }).annotations?.['networkservicemesh.io'],
      ).toMatch(/^kernel:\/\//);
    const ns = objects.find((o) => o.kind === 'NetworkService')!;
    expect(ns.metadata).toMatchObject({ name: '4g-network', namespace: 'nsm-system' });
  });

  it.each(COMPONENTS)('the image entrypoint starts %s (its --help, from the checkout)', (component) => {
    const run = spawnSync('sh', [entrypoint, component, '--help'], {
      env: { ...process.env, NSM_APP_ROOT: root },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/usage/i);
  });

  it('the entrypoint refuses an unknown component, naming the ones it knows', () => {
    const run = spawnSync('sh', [entrypoint, 'nsc-typo'], {
      env: { ...process.env, NSM_APP_ROOT: root },
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('expected registry, nsmgr, forwarder, webhook, issuer, nsc, nse or nsm');
  });
});

/**
 * The registry's CRD store against the Kubernetes API test server (no cluster can run here; see
 * test/harness/kube-api): records as custom resources, two registry replicas on one API server seen as
 * one registry, watches dropped mid-stream or expired (410) losing and repeating no event, an expired
 * NSE deleted exactly once, stale deletes refused by their resourceVersion precondition, upstream's
 * YAML read back unchanged, and API failures (403, 500) reported or retried, never a crash.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { firstValueFrom, toArray, type Subscription } from 'rxjs';
import { Code, NsmError, createContext, silentLogger, type NseHandler } from '@nsm-ts/sdk/core';
import { createRegistryServer, type RegistryHandlers } from '@nsm-ts/sdk/registry';
import { toTimestamp, type NetworkServiceEndpoint } from '@nsm-ts/sdk/api';
import { crdStores, type CrdStores } from '@nsm-ts/registry/k8s';
import { startRegistry } from '@nsm-ts/registry';
import { parseRegistryConfig } from '@nsm-ts/registry/config';
import { startKubeApi, type KubeApi } from '../harness/kube-api/server.js';

const NSE = {
  group: 'networkservicemesh.io',
  version: 'v1',
  plural: 'networkserviceendpoints',
  kind: 'NetworkServiceEndpoint',
};
const NS = {
  group: 'networkservicemesh.io',
  version: 'v1',
  plural: 'networkservices',
  kind: 'NetworkService',
};
const NAMESPACE = 'nsm-system';

interface Replica {
  stores: CrdStores;
  registry: RegistryHandlers;
}

let api: KubeApi;
const replicas: Replica[] = [];

async function replica(): Promise<Replica> {
  const stores = crdStores({
    kubeConfig: api.kubeConfig(),
    namespace: NAMESPACE,
    log: silentLogger,
    sweepMs: 100,
  });
  await stores.start();
  const r = { stores, registry: createRegistryServer({ stores, defaultLifetimeMs: 60_000 }) };
  replicas.push(r);
  return r;
}

const ctx = () => createContext({ deadline: Date.now() + 10_000 });

function nse(
  name: string,
  services: string[],
  extra: Partial<NetworkServiceEndpoint> = {},
): NetworkServiceEndpoint {
  return {
    name,
    network_service_names: services,
    network_service_labels: {},
    url: `tcp://10.0.0.${1 + (name.length % 200)}:5001`,
    expiration_time: null,
    initial_registration_time: null,
    path_ids: [],
    ...extra,
  };
}

async function find(h: NseHandler, query: Partial<NetworkServiceEndpoint> = {}): Promise<string[]> {
  const got = await firstValueFrom(
    h
      .find(ctx(), { network_service_endpoint: nse('', [], { url: '', ...query }), watch: false })
      .pipe(toArray()),
  );
  return got.map((r) => r.network_service_endpoint!.name).sort();
}

beforeEach(async () => {
  api = await startKubeApi({ resources: [NSE, NS], bookmarkMs: 200 });
});

afterEach(async () => {
  for (const r of replicas.splice(0)) {
    r.registry.close();
    r.stores.close();
  }
  await api.close();
});

describe('CRD store', () => {
  it('keeps each NSE as a custom resource and finds it again', async () => {
    const { registry } = await replica();
    const stored = await registry.nse.register(ctx(), nse('nse-a', ['svc']));
    expect(stored.name).toBe('nse-a');
    const cr = api.store.get('networkserviceendpoints', NAMESPACE, 'nse-a');
    expect(cr.spec).toMatchObject({ network_service_names: ['svc'], url: stored.url });
    expect(typeof (cr.spec as { expiration_time: { seconds: unknown } }).expiration_time.seconds).toBe(
      'number',
    );
    expect(await find(registry.nse, { network_service_names: ['svc'] })).toEqual(['nse-a']);
  });

  it('two replicas on one API server answer as one registry: a write through one is found and watched through the other', async () => {
    const a = await replica();
    const b = await replica();
    const events: string[] = [];
    const sub: Subscription = b.registry.nse
      .find(ctx(), { network_service_endpoint: nse('', ['svc'], { url: '' }), watch: true })
      .subscribe((r) => events.push(`${r.deleted ? '-' : '+'}${r.network_service_endpoint!.name}`));
    try {
      await a.registry.nse.register(ctx(), nse('nse-a', ['svc']));
      await expect.poll(() => find(b.registry.nse, { network_service_names: ['svc'] })).toEqual(['nse-a']);
      await b.registry.nse.unregister(ctx(), await a.registry.nse.register(ctx(), nse('nse-a', ['svc'])));
      await expect.poll(() => find(a.registry.nse)).toEqual([]);
      await expect.poll(() => events).toEqual(['+nse-a', '+nse-a', '-nse-a']);
    } finally {
      sub.unsubscribe();
    }
  });

  it('loses and repeats no event when the watch is dropped mid-stream or expires with 410 Gone', async () => {
    const a = await replica();
    const b = await replica();
    const seen: string[] = [];
    const sub = b.registry.nse
      .find(ctx(), { network_service_endpoint: nse('', [], { url: '' }), watch: true })
      .subscribe((r) => seen.push(`${r.deleted ? '-' : '+'}${r.network_service_endpoint!.name}`));
    try {
      await a.registry.nse.register(ctx(), nse('one', ['svc']));
      await expect.poll(() => seen).toEqual(['+one']);
      // Dropped: changes made while b's watch is down arrive once it resumes from its resourceVersion.
      api.faults.dropWatches();
      await a.registry.nse.register(ctx(), nse('two', ['svc']));
      await expect.poll(() => seen, { timeout: 10_000 }).toEqual(['+one', '+two']);
      // Expired: b relists; what changed meanwhile (three added, one deleted) arrives once, the rest not again.
      const before = api.served.filter((s) => s.method === 'GET' && !s.query.includes('watch')).length;
      api.faults.expireWatches();
      await a.registry.nse.register(ctx(), nse('three', ['svc']));
      await a.registry.nse.unregister(
        ctx(),
        (
          await firstValueFrom(
            a.registry.nse.find(ctx(), {
              network_service_endpoint: nse('one', [], { url: '' }),
              watch: false,
            }),
          )
        ).network_service_endpoint!,
      );
      await expect.poll(() => seen, { timeout: 10_000 }).toEqual(['+one', '+two', '+three', '-one']);
      expect(
        api.served.filter((s) => s.method === 'GET' && !s.query.includes('watch')).length,
      ).toBeGreaterThan(before);
      await new Promise((r) => setTimeout(r, 500));
      expect(seen).toEqual(['+one', '+two', '+three', '-one']);
    } finally {
      sub.unsubscribe();
    }
  });

  it('deletes an expired NSE exactly once, from whichever replica sees it first, and never returns it', async () => {
    const a = await replica();
    const b = await replica();
    await a.registry.nse.register(
      ctx(),
      nse('short', ['svc'], { expiration_time: toTimestamp(Date.now() + 800) }),
    );
    await expect.poll(() => find(b.registry.nse)).toEqual(['short']);
    await expect
      .poll(() => api.store.list('networkserviceendpoints', NAMESPACE).length, { timeout: 5000 })
      .toBe(0);
    const deletes = api.served.filter((s) => s.method === 'DELETE');
    expect(deletes.filter((d) => d.code === 200)).toHaveLength(1);
    expect(await find(a.registry.nse)).toEqual([]);
  });

  it('keeps a registration refreshed through another replica when a stale one unregisters it', async () => {
    const a = await replica();
    const b = await replica();
    const first = await a.registry.nse.register(
      ctx(),
      nse('kept', ['svc'], { expiration_time: toTimestamp(Date.now() + 20_000) }),
    );
    await b.registry.nse.register(
      ctx(),
      nse('kept', ['svc'], { expiration_time: toTimestamp(Date.now() + 40_000) }),
    );
    await expect
      .poll(async () =>
        Number(
          (
            await firstValueFrom(
              a.registry.nse.find(ctx(), {
                network_service_endpoint: nse('kept', [], { url: '' }),
                watch: false,
              }),
            )
          ).network_service_endpoint!.expiration_time!.seconds,
        ),
      )
      .toBeGreaterThan(Number(first.expiration_time!.seconds));
    await a.registry.nse.unregister(ctx(), first);
    expect(api.store.list('networkserviceendpoints', NAMESPACE).map((o) => o.metadata.name)).toEqual([
      'kept',
    ]);
  });

  it("reads upstream's CR YAML back unchanged, and leaves the CR as it was", async () => {
    const { registry } = await replica();
    const yaml = `
apiVersion: networkservicemesh.io/v1
kind: NetworkServiceEndpoint
metadata:
  name: nse-kernel-abc
  namespace: nsm-system
spec:
  name: nse-kernel-abc
  network_service_names:
  - icmp-responder
  network_service_labels:
    icmp-responder:
      labels:
        app: nse-kernel
        nodeName: kind-worker
  url: tcp://10.244.1.5:5001
  expiration_time:
    seconds: ${Math.floor(Date.now() / 1000) + 3600}
    nanos: 120000000
`;
    const cr = parse(yaml) as { spec: Record<string, unknown> } & Record<string, unknown>;
    const k8s = api.kubeConfig().makeApiClient(CustomObjectsApi);
    await k8s.createNamespacedCustomObject({
      group: NSE.group,
      version: NSE.version,
      namespace: NAMESPACE,
      plural: NSE.plural,
      body: cr,
    });
    await expect
      .poll(() => find(registry.nse, { network_service_names: ['icmp-responder'] }))
      .toEqual(['nse-kernel-abc']);
    const [found] = await firstValueFrom(
      registry.nse
        .find(ctx(), { network_service_endpoint: nse('nse-kernel-abc', [], { url: '' }), watch: false })
        .pipe(toArray()),
    );
    const spec = cr.spec;
    expect(found!.network_service_endpoint).toMatchObject({
      name: 'nse-kernel-abc',
      network_service_names: spec['network_service_names'],
      network_service_labels: spec['network_service_labels'],
      url: spec['url'],
      expiration_time: {
        seconds: String((spec['expiration_time'] as { seconds: number }).seconds),
        nanos: 120000000,
      },
    });
    expect(api.store.get(NSE.plural, NAMESPACE, 'nse-kernel-abc').spec).toEqual(spec);
  });

  it('reports a 403 with what the service account needs, retries a 500, and keeps serving', async () => {
    const { registry } = await replica();
    api.faults.fail(403, 1, { method: 'POST' });
    await expect(registry.nse.register(ctx(), nse('denied', ['svc']))).rejects.toThrow(
      /cannot create networkserviceendpoints "denied" in namespace nsm-system: the Kubernetes API answered 403 .*service account needs .* networkserviceendpoints.networkservicemesh.io/,
    );
    api.faults.fail(500, 2, { method: 'POST' });
    await registry.nse.register(ctx(), nse('retried', ['svc']));
    expect(await find(registry.nse)).toEqual(['retried']);
    api.faults.fail(500, 3, { watch: true });
    api.faults.dropWatches();
    await registry.nse.register(ctx(), nse('after', ['svc']));
    await expect.poll(() => find(registry.nse), { timeout: 10_000 }).toEqual(['after', 'retried']);
  });

  it('refuses what the API finds invalid (422) as INVALID_ARGUMENT, and retries a replace that meets a newer version (409)', async () => {
    const { registry } = await replica();
    api.faults.fail(422, 1, { method: 'POST' });
    const refused = await registry.nse.register(ctx(), nse('invalid', ['svc'])).then(
      () => undefined,
      (e: unknown) => NsmError.from(e),
    );
    expect(refused?.code).toBe(Code.INVALID_ARGUMENT);
    expect(refused?.message).toMatch(/cannot create networkserviceendpoints "invalid" .* answered 422/);
    await registry.nse.register(ctx(), nse('twice', ['svc']));
    api.faults.fail(409, 1, { method: 'PUT' });
    await registry.nse.register(ctx(), nse('twice', ['svc', 'other']));
    expect(api.store.get(NSE.plural, NAMESPACE, 'twice').spec).toMatchObject({
      network_service_names: ['svc', 'other'],
    });
    expect(api.served.filter((r) => r.method === 'PUT').map((r) => r.code)).toEqual([409, 200]);
  });

  it('is what the registry daemon serves with NSM_REGISTRY_BACKEND=k8s', async () => {
    const config = parseRegistryConfig({
      NSM_INSECURE: 'true',
      NSM_REGISTRY_BACKEND: 'k8s',
      NSM_NAMESPACE: NAMESPACE,
      NSM_LISTEN_ON: 'tcp://127.0.0.1:0',
    });
    const running = await startRegistry(config, { log: silentLogger, kubeConfig: api.kubeConfig() });
    try {
      await running.registry.ns.register(ctx(), { name: 'svc', payload: '', matches: [], path_ids: [] });
      expect(api.store.get(NS.plural, NAMESPACE, 'svc').spec).toEqual({
        name: 'svc',
        payload: 'IP',
        path_ids: ['', 'registry'],
      });
    } finally {
      await running.close();
    }
    await expect.poll(() => api.watches).toBe(0);
  });
});

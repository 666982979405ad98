/**
 * Registry conformance with upstream NSM, checked by a client that knows only the NSM API protos, gRPC
 * with TLS, and a JWT library: it is built from the .proto files with @grpc/proto-loader, dials with
 * plain TLS credentials and an X.509 certificate of the mesh CA, and signs its per-call token with jose,
 * as a program in any language would. Each case names upstream's expected result (matchutils, setpayload,
 * localbypass). It runs twice: on the registry's memory store and on its CRD store (custom resources on
 * the Kubernetes API test server).
 */
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSvid } from '@nsm-ts/cli/pki';
import { createMesh, type Mesh } from '../../bench/src/mesh/mesh.js';
import { CRD_RESOURCES, crdStoresOn, startKubeApi, type KubeApi } from '../harness/kube-api/server.js';

type Rec = Record<string, unknown>;
let mesh: Mesh;
let credentials: grpc.ChannelCredentials;
let key: string;
let x5c: string;
const id = 'spiffe://nsm.test/ns/conformance/pod/outside-client';

const definition = protoLoader.loadSync(['registry/registry.proto', 'networkservice/networkservice.proto'], {
  includeDirs: [join(import.meta.dirname, '..', '..', 'proto')],
  keepCase: true,
  defaults: true,
  longs: String,
  enums: String,
});
const api = grpc.loadPackageDefinition(definition) as unknown as {
  registry: Record<string, typeof grpc.Client>;
  networkservice: Record<string, typeof grpc.Client>;
};

/** The per-call token upstream's transport sends: sub = us, aud = the server, with our certificate in x5c. */
async function metadata(server: string): Promise<grpc.Metadata> {
  const exp = Math.floor(Date.now() / 1000) + 300;
  const token = await new SignJWT({ sub: id, aud: [server], exp })
    .setProtectedHeader({ alg: 'ES256', x5c: [x5c] })
    .sign((await import('node:crypto')).createPrivateKey(key));
  const md = new grpc.Metadata();
  md.set('nsm-client-token', token);
  md.set('nsm-client-token-expires', new Date(exp * 1000).toISOString());
  return md;
}

function client(pkg: 'registry' | 'networkservice', service: string, url: string): grpc.Client & Rec {
  const target = url.replace(/^tcp:\/\//, '');
  const Ctor = api[pkg][service]!;
  return new Ctor(target, credentials, { 'grpc.ssl_target_name_override': 'nsm' }) as grpc.Client & Rec;
}

function unary(c: grpc.Client & Rec, method: string, req: Rec, md: grpc.Metadata): Promise<Rec> {
  return new Promise((resolve, reject) =>
    (c[method] as (r: Rec, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, v: Rec) => void) => void)(
      req,
      md,
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

function find(c: grpc.Client & Rec, req: Rec, md: grpc.Metadata): Promise<Rec[]> {
  return new Promise((resolve, reject) => {
    const out: Rec[] = [];
    const call = (c['Find'] as (r: Rec, m: grpc.Metadata) => grpc.ClientReadableStream<Rec>)(req, md);
    call.on('data', (r: Rec) => out.push(r));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

const registryId = 'spiffe://nsm.test/registry';
const managerId = 'spiffe://nsm.test/nsmgr/node-1';

/** The registry's store: in memory, or custom resources on the Kubernetes API test server. */
let kubeApi: KubeApi | undefined;

/** Brings up the mesh with the registry on `backend`, and the outside client's credentials. */
async function setUp(backend: string): Promise<void> {
  kubeApi = backend === 'k8s' ? await startKubeApi({ resources: CRD_RESOURCES }) : undefined;
  mesh = await createMesh({
    nodes: 1,
    ...(kubeApi ? { registryStores: crdStoresOn(kubeApi) } : {}),
  });
  const svid = await issueSvid(mesh.pki!.ca, { id, lifetimeMs: 3_600_000 });
  key = svid.keyPem;
  x5c = new X509Certificate(svid.chainPem).raw.toString('base64');
  credentials = grpc.credentials.createSsl(
    Buffer.from(mesh.pki!.ca.certPem),
    Buffer.from(key),
    Buffer.from(svid.chainPem),
    {
      // SPIFFE certificates name no host: the server is checked by its URI SAN instead.
      checkServerIdentity: (_host, cert) =>
        cert.subjectaltname?.startsWith('URI:spiffe://nsm.test/')
          ? undefined
          : new Error('not a mesh server'),
    },
  );
}

describe.each(['memory', 'k8s'])('registry semantics as upstream (%s store)', (backend) => {
  beforeAll(() => setUp(backend), 30_000);
  afterAll(async () => {
    // On the k8s store, the records the cases wrote are custom resources on the API server.
    if (kubeApi) expect(kubeApi.store.list('networkservices', 'nsm-system').length).toBeGreaterThan(0);
    await mesh.close();
    await kubeApi?.close();
  });

  it('stores a NetworkService registered with an empty payload as IP (setpayload)', async () => {
    const ns = client('registry', 'NetworkServiceRegistry', mesh.registryUrl);
    try {
      const stored = await unary(
        ns,
        'Register',
        { name: 'conf-empty', payload: '' },
        await metadata(registryId),
      );
      expect(stored['payload']).toBe('IP');
      const found = await find(ns, { network_service: { name: 'conf-empty' } }, await metadata(registryId));
      expect(found.map((r) => (r['network_service'] as Rec)['payload'])).toEqual(['IP']);
    } finally {
      ns.close();
    }
  });

  it('NS Find compares matches when the query has any (matchutils.MatchNetworkServices)', async () => {
    const ns = client('registry', 'NetworkServiceRegistry', mesh.registryUrl);
    const match = (app: string) => ({
      source_selector: { app },
      routes: [{ destination_selector: { app: 'gw' } }],
    });
    try {
      for (const [name, app] of [
        ['conf-fw', 'firewall'],
        ['conf-vpn', 'vpn'],
      ] as const)
        await unary(
          ns,
          'Register',
          { name, payload: 'ETHERNET', matches: [match(app)] },
          await metadata(registryId),
        );
      const names = async (query: Rec) =>
        (await find(ns, { network_service: query }, await metadata(registryId)))
          .map((r) => (r['network_service'] as Rec)['name'])
          .filter((n) => String(n).startsWith('conf-'));
      expect(await names({ matches: [match('firewall')] })).toEqual(['conf-fw']);
      expect(await names({ matches: [match('nobody')] })).toEqual([]);
      expect((await names({ payload: 'ETHERNET' })).sort()).toEqual(['conf-fw', 'conf-vpn']);
    } finally {
      ns.close();
    }
  });

  it('NSE Find: url substring, expiration_time to the second, a queried service must exist in the labels', async () => {
    const nse = client('registry', 'NetworkServiceEndpointRegistry', mesh.registryUrl);
    try {
      const stored = await unary(
        nse,
        'Register',
        {
          name: 'conf-nse',
          network_service_names: ['conf-svc'],
          network_service_labels: { 'conf-svc': { labels: { app: 'x', greeting: 'hello world' } } },
          url: 'tcp://10.99.0.7:5001',
        },
        await metadata(registryId),
      );
      // Labels are any strings on the wire, as upstream accepts them.
      expect(((stored['network_service_labels'] as Rec)['conf-svc'] as Rec)['labels']).toEqual({
        app: 'x',
        greeting: 'hello world',
      });
      const names = async (query: Rec) =>
        (await find(nse, { network_service_endpoint: query }, await metadata(registryId))).map(
          (r) => (r['network_service_endpoint'] as Rec)['name'],
        );
      expect(await names({ url: '10.99.0.7' })).toEqual(['conf-nse']);
      expect(await names({ url: 'tcp://10.99.0.7:5001' })).toEqual(['conf-nse']);
      expect(await names({ url: '10.99.0.8' })).toEqual([]);
      const seconds = (stored['expiration_time'] as Rec)['seconds'];
      expect(await names({ name: 'conf-nse', expiration_time: { seconds, nanos: 1 } })).toEqual(['conf-nse']);
      expect(
        await names({ name: 'conf-nse', expiration_time: { seconds: String(Number(seconds) + 1) } }),
      ).toEqual([]);
      expect(await names({ network_service_labels: { unknownService: {} } })).toEqual([]);
      expect(await names({ network_service_labels: { 'conf-svc': {} } })).toEqual(['conf-nse']);
      expect(
        await names({ network_service_labels: { 'conf-svc': { labels: { greeting: 'hello world' } } } }),
      ).toEqual(['conf-nse']);
      await unary(nse, 'Unregister', stored, await metadata(registryId));
    } finally {
      nse.close();
    }
  });

  it('the manager refuses an NSE registration without a URL (localbypass)', async () => {
    const nse = client('registry', 'NetworkServiceEndpointRegistry', mesh.node(1).managerTcpUrl);
    try {
      await expect(
        unary(
          nse,
          'Register',
          { name: 'conf-nourl', network_service_names: ['conf-svc'] },
          await metadata(managerId),
        ),
      ).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringContaining('cannot register NSE "conf-nourl" with an empty URL') as string,
      });
    } finally {
      nse.close();
    }
  });

  it('without its token, or with one not for the server, a registration is refused naming the policy', async () => {
    const nse = client('registry', 'NetworkServiceEndpointRegistry', mesh.registryUrl);
    try {
      await expect(
        unary(
          nse,
          'Register',
          { name: 'conf-x', network_service_names: ['s'], url: 'unix:///x' },
          new grpc.Metadata(),
        ),
      ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      await expect(
        unary(
          nse,
          'Register',
          { name: 'conf-x', network_service_names: ['s'], url: 'unix:///x' },
          await metadata(managerId),
        ),
      ).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: expect.stringMatching(
          /^tokens_chained: .* is for spiffe:\/\/nsm.test\/nsmgr\/node-1, not for spiffe:\/\/nsm.test\/registry/,
        ) as string,
      });
    } finally {
      nse.close();
    }
  });
});

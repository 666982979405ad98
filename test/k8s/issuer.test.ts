/**
 * The mesh issuer for Kubernetes against the Kubernetes API test server (with its TokenReview API):
 * replicas share one CA in one Secret; the trust bundle reaches every namespace and comes back when
 * deleted; a pod's projected token buys an SVID for its service account, renewed before expiry with a
 * new key and the rotated token; every bad token, body, key or namespace is refused with the reason; a
 * server that is not the issuer is not trusted; and the daemons run with mTLS on identities from it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@nsm-ts/sdk/core';
import {
  ISSUER_PATH,
  fileIdentity,
  issuerIdentity,
  verifySvidChain,
  type Identity,
} from '@nsm-ts/sdk/security';
import {
  BUNDLE_KEY,
  loadOrCreateCa,
  publishBundle,
  startIssuer,
  tokenReviewer,
  type RunningIssuer,
} from '@nsm-ts/cli/issuer';
import { createCa, issueSvid, type MeshCa } from '@nsm-ts/cli/pki';
import { startKubeApi, type KubeApi } from '../harness/kube-api/server.js';
import { freePort } from '../../bench/src/mesh/ports.js';

const core = (plural: string, kind: string, clusterScoped = false) => ({
  group: '',
  version: 'v1',
  plural,
  kind,
  clusterScoped,
});
const RESOURCES = [
  core('secrets', 'Secret'),
  core('configmaps', 'ConfigMap'),
  core('namespaces', 'Namespace', true),
];
const root = join(import.meta.dirname, '..', '..');

let api: KubeApi;
let dir: string;
const cleanups: (() => unknown)[] = [];

beforeEach(async () => {
  api = await startKubeApi({ resources: RESOURCES, bookmarkMs: 200 });
  for (const name of ['nsm-system', 'epc'])
    api.store.create('namespaces', '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as never);
  dir = mkdtempSync(join(tmpdir(), 'nsm-issuer-'));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

const caOf = (kc = api.kubeConfig()) =>
  loadOrCreateCa(kc, {
    namespace: 'nsm-system',
    name: 'nsm-ca',
    trustDomain: 'nsm.local',
    log: silentLogger,
  });

async function issuer(
  ca: MeshCa,
  options: { lifetimeMs?: number; allowed?: string[]; port?: number } = {},
): Promise<RunningIssuer> {
  const running = await startIssuer({
    ca,
    host: '127.0.0.1',
    port: options.port ?? 0,
    dnsNames: ['nsm-issuer.nsm-system.svc'],
    lifetimeMs: options.lifetimeMs ?? 3_600_000,
    allowedNamespaces: options.allowed ?? [],
    review: tokenReviewer(api.kubeConfig(), 'nsm-issuer'),
    log: silentLogger,
  });
  cleanups.push(() => running.close());
  return running;
}

/** Writes the pod's files: its projected token and the mesh CA. */
function podFiles(ca: MeshCa, token: string): { tokenFile: string; caFile: string } {
  writeFileSync(join(dir, 'token'), token);
  writeFileSync(join(dir, 'bundle.pem'), ca.certPem);
  return { tokenFile: join(dir, 'token'), caFile: join(dir, 'bundle.pem') };
}

async function identityFrom(
  url: string,
  files: { tokenFile: string; caFile: string },
  timeoutMs = 5000,
): Promise<Identity> {
  const identity = await issuerIdentity({ url, ...files, timeoutMs });
  cleanups.push(() => identity.close());
  return identity;
}

/** One raw call to the issuer: its status and answer. */
function call(
  port: number,
  ca: MeshCa,
  options: { token?: string; body?: string; contentType?: string; method?: string; path?: string },
): Promise<{ status: number; body: { error?: string; spiffeId?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'POST',
        path: options.path ?? ISSUER_PATH,
        ca: ca.certPem,
        checkServerIdentity: () => undefined,
        headers: {
          ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
          'content-type': options.contentType ?? 'application/json',
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as never }));
      },
    );
    req.on('error', reject);
    req.end(options.body ?? '');
  });
}

const publicPem = () =>
  generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();

describe('the CA Secret', () => {
  it('is created once when replicas start together; all of them use that one CA', async () => {
    const [a, b, c] = await Promise.all([caOf(), caOf(), caOf()]);
    expect(new Set([a.certPem, b.certPem, c.certPem]).size).toBe(1);
    const secrets = api.store.list('secrets', 'nsm-system');
    expect(secrets).toHaveLength(1);
    expect(secrets[0]).toMatchObject({ type: 'kubernetes.io/tls', metadata: { name: 'nsm-ca' } });
    expect(api.served.filter((s) => s.method === 'POST' && s.code === 201)).toHaveLength(1);
    // A restart reads it.
    expect((await caOf()).certPem).toBe(a.certPem);
  });

  it('refuses a Secret without the key, one for another trust domain, and names what the API refused', async () => {
    const data = (text: string) => Buffer.from(text).toString('base64');
    const other = await createCa({ trustDomain: 'example.org' });
    api.store.create('secrets', 'nsm-system', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'nsm-ca' },
      data: { 'tls.crt': data(other.certPem) },
    } as never);
    await expect(caOf()).rejects.toThrow(
      'Secret nsm-system/nsm-ca has no tls.key: expected a kubernetes.io/tls Secret',
    );
    const stored = api.store.get('secrets', 'nsm-system', 'nsm-ca');
    api.store.replace('secrets', 'nsm-system', 'nsm-ca', {
      ...stored,
      data: { 'tls.crt': data(other.certPem), 'tls.key': data(other.keyPem) },
    });
    await expect(caOf()).rejects.toThrow(
      'the CA in Secret nsm-system/nsm-ca is for trust domain example.org, not nsm.local: set NSM_TRUST_DOMAIN=example.org',
    );
    api.store.replace('secrets', 'nsm-system', 'nsm-ca', {
      ...api.store.get('secrets', 'nsm-system', 'nsm-ca'),
      data: { 'tls.crt': data('not a certificate'), 'tls.key': data(other.keyPem) },
    });
    await expect(caOf()).rejects.toThrow(
      'the mesh CA in Secret nsm-system/nsm-ca: the certificate is malformed',
    );
    api.faults.fail(403, 1);
    await expect(caOf()).rejects.toThrow(
      /cannot read the CA Secret nsm-system\/nsm-ca: the Kubernetes API answered 403 .*needs get and create on secrets \(nsm-ca\) in namespace nsm-system/,
    );
  });
});

describe('the trust bundle', () => {
  it('is kept in every namespace: existing, created later, deleted or changed', async () => {
    const ca = await caOf();
    const publisher = publishBundle(api.kubeConfig(), {
      name: 'nsm-trust-bundle',
      bundlePem: ca.certPem,
      namespaces: [],
      resyncMs: 200,
      log: silentLogger,
    });
    cleanups.push(() => publisher.close());
    await publisher.ready;
    const bundleIn = (ns: string) => {
      try {
        return (
          api.store.get('configmaps', ns, 'nsm-trust-bundle') as unknown as { data: Record<string, string> }
        ).data[BUNDLE_KEY];
      } catch {
        return undefined;
      }
    };
    await expect.poll(() => [bundleIn('nsm-system'), bundleIn('epc')]).toEqual([ca.certPem, ca.certPem]);
    api.store.create('namespaces', '', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'late' },
    } as never);
    await expect.poll(() => bundleIn('late')).toBe(ca.certPem);
    api.store.delete('configmaps', 'epc', 'nsm-trust-bundle', {});
    const late = api.store.get('configmaps', 'late', 'nsm-trust-bundle');
    api.store.replace('configmaps', 'late', 'nsm-trust-bundle', {
      ...late,
      data: { [BUNDLE_KEY]: 'x' },
    });
    await expect.poll(() => [bundleIn('epc'), bundleIn('late')]).toEqual([ca.certPem, ca.certPem]);
  });
});

describe('issuing', () => {
  it('gives a pod an SVID for its service account, with its own key, renewed before expiry with the rotated token', async () => {
    const ca = await caOf();
    const running = await issuer(ca, { lifetimeMs: 3000 });
    const first = api.tokens.issue('epc', 'default', { audiences: ['nsm-issuer'], pod: 'ue-1' });
    const files = podFiles(ca, first);
    const identity = await identityFrom(`https://127.0.0.1:${running.port}`, files);
    expect(identity.id).toBe('spiffe://nsm.local/ns/epc/sa/default');
    const svid = identity.svid();
    expect(verifySvidChain(svid.chain, identity.bundle(), Date.now()).id).toBe(identity.id);
    expect(identity.bundlePem()).toBe(ca.certPem);
    // The kubelet rotates the token; the old one stops working.
    const second = api.tokens.issue('epc', 'default', { audiences: ['nsm-issuer'], pod: 'ue-1' });
    writeFileSync(files.tokenFile, second);
    api.tokens.revoke(first);
    const rotated = new Promise<void>((resolve) => identity.onChange(resolve));
    await rotated;
    const next = identity.svid();
    expect(next.chain[0]!.serialNumber).not.toBe(svid.chain[0]!.serialNumber);
    expect(next.keyPem).not.toBe(svid.keyPem);
    expect(next.id.id).toBe('spiffe://nsm.local/ns/epc/sa/default');
  });

  const tools = ['curl', 'openssl', 'jq'].every(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0,
  );
  it.skipIf(!tools)(
    'serves a workload in another language: openssl and curl as docs/security.md shows',
    async () => {
      const ca = await caOf();
      const { port } = await issuer(ca);
      podFiles(ca, api.tokens.issue('epc', 'legacy', { audiences: ['nsm-issuer'] }));
      const script = [
        'set -e',
        'openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out svid_key.pem',
        'openssl pkey -in svid_key.pem -pubout -out pub.pem',
        `curl -sS --fail-with-body --cacert bundle.pem --resolve nsm-issuer.nsm-system.svc:${port}:127.0.0.1 \\`,
        '  -H "Authorization: Bearer $(cat token)" -H \'content-type: application/json\' \\',
        `  -d "$(jq -n --rawfile k pub.pem '{publicKey: $k}')" https://nsm-issuer.nsm-system.svc:${port}/v1/x509svid > answer.json`,
        'jq -r .svid answer.json > svid.pem',
        'openssl verify -CAfile bundle.pem svid.pem',
        // The certificate is for the key the workload kept.
        'test "$(openssl x509 -in svid.pem -noout -pubkey)" = "$(cat pub.pem)"',
      ].join('\n');
      // Not spawnSync: the issuer answering curl runs in this process.
      const run = await new Promise<{ code: number; out: string }>((resolve) => {
        const child = spawn('sh', ['-c', script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (out += c.toString()));
        child.once('exit', (code) => resolve({ code: code ?? -1, out }));
      });
      expect(run.code, run.out).toBe(0);
      expect(run.out).toContain('svid.pem: OK');
      const answer = JSON.parse(readFileSync(join(dir, 'answer.json'), 'utf8')) as { spiffeId: string };
      expect(answer.spiffeId).toBe('spiffe://nsm.local/ns/epc/sa/legacy');
    },
  );

  it('refuses, with the reason, every token, body and key that is not right', async () => {
    const ca = await caOf();
    const { port } = await issuer(ca, { allowed: ['epc', 'nsm-system'] });
    const good = api.tokens.issue('epc', 'app', { audiences: ['nsm-issuer'] });
    const body = JSON.stringify({ publicKey: publicPem() });
    expect(await call(port, ca, { token: good, body })).toMatchObject({
      status: 200,
      body: { spiffeId: 'spiffe://nsm.local/ns/epc/sa/app' },
    });
    const cases: [string, Parameters<typeof call>[2], number, RegExp][] = [
      ['no token', { body }, 401, /no bearer token/],
      ['an unknown token', { token: 'forged', body }, 401, /not valid: invalid bearer token/],
      [
        'a token for the API server',
        { token: api.tokens.issue('epc', 'app'), body },
        401,
        /token audiences \["https:\/\/kubernetes.default.svc"\] is invalid for the target audiences \["nsm-issuer"\]/,
      ],
      [
        'an expired token',
        { token: api.tokens.issue('epc', 'app', { audiences: ['nsm-issuer'], ttlMs: -1 }), body },
        401,
        /Token has expired/,
      ],
      [
        'a namespace not served',
        { token: api.tokens.issue('other', 'app', { audiences: ['nsm-issuer'] }), body },
        403,
        /namespace other is not served: the issuer serves epc, nsm-system/,
      ],
      ['a body that is not JSON', { token: good, body: '{' }, 400, /not JSON/],
      ['no public key', { token: good, body: '{}' }, 400, /no "publicKey"/],
      [
        'an RSA key',
        {
          token: good,
          body: JSON.stringify({
            publicKey: generateKeyPairSync('rsa', { modulusLength: 2048 })
              .publicKey.export({ type: 'spki', format: 'pem' })
              .toString(),
          }),
        },
        400,
        /the public key is rsa: expected an EC P-256 key/,
      ],
      ['a body too large', { token: good, body: 'x'.repeat(20_000) }, 413, /larger than 16384 bytes/],
      [
        'another content type',
        { token: good, body, contentType: 'text/plain' },
        415,
        /expected application\/json/,
      ],
      ['another method', { token: good, method: 'GET' }, 405, /expected POST/],
      ['another path', { token: good, body, path: '/v1/other' }, 404, /serves POST \/v1\/x509svid/],
    ];
    for (const [what, options, status, reason] of cases) {
      const answer = await call(port, ca, options);
      expect(answer.status, what).toBe(status);
      expect(answer.body.error, what).toMatch(reason);
    }
  });

  it('waits for an issuer that is starting, and for the TokenReview API to come back', async () => {
    const ca = await caOf();
    const port = await freePort();
    const files = podFiles(ca, api.tokens.issue('epc', 'default', { audiences: ['nsm-issuer'] }));
    const pending = identityFrom(`https://127.0.0.1:${port}`, files, 15_000);
    await new Promise((r) => setTimeout(r, 500));
    api.faults.fail(503, 2, { method: 'POST' });
    await issuer(ca, { port });
    const identity = await pending;
    expect(identity.id).toBe('spiffe://nsm.local/ns/epc/sa/default');
    expect(api.tokens.reviews.filter((r) => r.authenticated)).toHaveLength(1);
    // Not forever: a pod whose issuer never comes says so.
    await expect(identityFrom(`https://127.0.0.1:${await freePort()}`, files, 1000)).rejects.toThrow(
      /the issuer at https:\/\/127.0.0.1:\d+ is not reachable: .*ECONNREFUSED/,
    );
  });

  it('trusts only the issuer: not another workload of the mesh, not another CA', async () => {
    const ca = await caOf();
    const files = podFiles(ca, api.tokens.issue('epc', 'default', { audiences: ['nsm-issuer'] }));
    const serve = async (cert: { chainPem: string; keyPem: string }): Promise<string> => {
      const server = createHttpsServer({ cert: cert.chainPem, key: cert.keyPem }, (_req, res) =>
        res.end('{}'),
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      cleanups.push(() => new Promise((r) => server.close(r)));
      return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const workload = await serve(
      await issueSvid(ca, { id: 'spiffe://nsm.local/ns/epc/sa/evil', lifetimeMs: 60_000 }),
    );
    await expect(identityFrom(workload, files, 500)).rejects.toThrow(
      /is not the issuer: it presents URI:spiffe:\/\/nsm.local\/ns\/epc\/sa\/evil, expected spiffe:\/\/nsm.local\/nsm-issuer/,
    );
    const rogue = await createCa({ trustDomain: 'nsm.local' });
    const impostor = await serve(
      await issueSvid(rogue, { id: 'spiffe://nsm.local/nsm-issuer', lifetimeMs: 60_000 }),
    );
    await expect(identityFrom(impostor, files, 500)).rejects.toThrow(
      /not reachable: .*(certificate|signature)/i,
    );
    await expect(identityFrom('http://127.0.0.1:1', files, 500)).rejects.toThrow(/is not https/);
    await expect(identityFrom(workload, { ...files, caFile: join(dir, 'missing.pem') }, 500)).rejects.toThrow(
      /cannot read the mesh CA file .*missing.pem/,
    );
  });
});

describe('the daemons on identities from the issuer', () => {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGTERM');
      await new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)));
    }
  });

  function run(
    script: string,
    env: Record<string, string>,
    args: string[] = [],
  ): { exit: Promise<number>; output: () => string } {
    const child = spawn(process.execPath, [join(root, script), ...args], {
      env: { PATH: process.env['PATH'] ?? '', NSM_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    return { exit: new Promise((r) => child.once('exit', (code) => r(code ?? -1))), output: () => out };
  }

  it('nsm-issuer creates the CA and serves; the registry gets its identity from it and serves mTLS with it', async () => {
    writeFileSync(join(dir, 'kubeconfig'), api.kubeConfig().exportConfig());
    const issuerPort = await freePort();
    const issuerRun = run('cli/dist/issuer/main.js', {
      KUBECONFIG: join(dir, 'kubeconfig'),
      NSM_NAMESPACE: 'nsm-system',
      NSM_PORT: String(issuerPort),
    });
    await expect.poll(() => issuerRun.output(), { timeout: 15_000 }).toContain('issuer serving');
    const secret = api.store.get('secrets', 'nsm-system', 'nsm-ca') as unknown as {
      data: Record<string, string>;
    };
    const caPem = Buffer.from(secret.data['tls.crt']!, 'base64').toString();
    await expect.poll(() => api.store.list('configmaps', 'epc').length).toBe(1);
    writeFileSync(
      join(dir, 'token'),
      api.tokens.issue('nsm-system', 'registry', { audiences: ['nsm-issuer'] }),
    );
    writeFileSync(join(dir, 'bundle.pem'), caPem);
    const registryPort = await freePort();
    const registry = run('registry/dist/main.js', {
      NSM_LISTEN_ON: `tcp://127.0.0.1:${registryPort}`,
      NSM_ISSUER_URL: `https://127.0.0.1:${issuerPort}`,
      NSM_ISSUER_TOKEN_FILE: join(dir, 'token'),
      NSM_ISSUER_CA_FILE: join(dir, 'bundle.pem'),
    });
    await expect.poll(() => registry.output(), { timeout: 15_000 }).toContain('registry serving');
    expect(registry.output()).toContain('spiffe://nsm.local/ns/nsm-system/sa/registry');
    // A client of the mesh (its own identity from the issuer) sees the registry's certificate.
    writeFileSync(join(dir, 'client-token'), api.tokens.issue('epc', 'ue', { audiences: ['nsm-issuer'] }));
    const client = await identityFrom(`https://127.0.0.1:${issuerPort}`, {
      tokenFile: join(dir, 'client-token'),
      caFile: join(dir, 'bundle.pem'),
    });
    const peer = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = connect(
        {
          host: '127.0.0.1',
          port: registryPort,
          ca: caPem,
          cert: client.svid().chainPem,
          key: client.svid().keyPem,
          ALPNProtocols: ['h2'],
          checkServerIdentity: () => undefined,
        },
        () => {
          const cert = socket.getPeerX509Certificate();
          socket.end();
          if (cert) resolve(cert);
          else reject(new Error('no peer certificate'));
        },
      );
      socket.on('error', reject);
    });
    expect(peer.subjectAltName).toBe('URI:spiffe://nsm.local/ns/nsm-system/sa/registry');
  });

  it("nsm identity --kubeconfig issues an operator identity from the cluster's CA Secret, and says when it cannot", async () => {
    const ca = await caOf();
    writeFileSync(join(dir, 'kubeconfig'), api.kubeConfig().exportConfig());
    const out = join(dir, 'operator');
    const ok = run('cli/dist/main.js', {}, [
      'identity',
      'operator/alice',
      '--kubeconfig',
      join(dir, 'kubeconfig'),
      '--out',
      out,
    ]);
    expect(await ok.exit, ok.output()).toBe(0);
    expect(ok.output()).toContain(
      "issued spiffe://nsm.local/operator/alice from the cluster's CA (Secret nsm-system/nsm-ca)",
    );
    const identity = await fileIdentity({ dir: out });
    cleanups.push(() => identity.close());
    expect(identity.id).toBe('spiffe://nsm.local/operator/alice');
    expect(identity.bundlePem()).toBe(ca.certPem);
    expect(verifySvidChain(identity.svid().chain, identity.bundle(), Date.now()).id).toBe(identity.id);
    const refused = async (args: string[], message: string) => {
      const bad = run('cli/dist/main.js', {}, [
        'identity',
        ...args,
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--out',
        out,
      ]);
      expect(await bad.exit).toBe(2);
      expect(bad.output()).toContain(message);
    };
    await refused(['nsm-issuer'], "that is the issuer's own identity");
    await refused(
      ['spiffe://example.org/operator/x'],
      "the cluster's trust domain is nsm.local, not example.org",
    );
    await refused(
      ['operator/x', '--ca-secret', 'nsm-system/nope'],
      'cannot read the mesh CA Secret nsm-system/nope: the Kubernetes API answered 404 (is the issuer deployed?',
    );
    await refused(['operator/x', '--ca-secret', 'nsm-ca'], '--ca-secret nsm-ca: expected <namespace>/<name>');
  });

  it('nsm-issuer refuses a bad configuration with exit 2, naming each setting', async () => {
    const bad = run('cli/dist/issuer/main.js', {
      NSM_TRUST_DOMAIN: 'Bad Domain',
      NSM_CERT_LIFETIME: '5s',
      NSM_ALLOWED_NAMESPACES: 'epc,Not_OK',
    });
    expect(await bad.exit).toBe(2);
    expect(bad.output()).toContain('NSM_TRUST_DOMAIN="Bad Domain"');
    expect(bad.output()).toContain('NSM_CERT_LIFETIME=5000ms is too short: expected at least 1m');
    expect(bad.output()).toContain('NSM_ALLOWED_NAMESPACES: "Not_OK" is not a Kubernetes name');
  });
});

/**
 * Identity from the mesh's issuer in Kubernetes (`nsm-issuer`): the workload makes its own P-256 key,
 * proves who it is with its projected service-account token (audience `nsm-issuer`) and receives an
 * X.509-SVID `spiffe://<trust domain>/ns/<namespace>/sa/<service account>` with the trust bundle. The
 * key never leaves the process. The issuer is trusted through the mesh CA (`caFile`, the bundle the
 * issuer publishes in every namespace) and must present the SPIFFE ID `spiffe://<td>/nsm-issuer`.
 * The identity is renewed at 2/3 of its lifetime with a new key; a failed renewal keeps the current one
 * and retries with backoff.
 *
 * The HTTP API (for workloads in any language): `POST <url>/v1/x509svid`, `Authorization: Bearer <token>`,
 * body `{"publicKey": "<SPKI PEM>"}`; answer 200 `{"spiffeId", "svid": "<PEM>", "bundle": "<PEM>",
 * "notAfter": "<ISO time>"}`, or 4xx/5xx `{"error": "<why>"}`.
 */
import { generateKeyPair } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { Code, NsmError, invalidArgument } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import { backoffDelay } from '../tools/backoff.js';
import { MutableIdentity, svidFromPem, type Identity, type Svid } from './identity.js';
import { spiffeIdOfCertificate } from './spiffe.js';
import { parsePemCertificates } from './x509.js';

/** The path of the issuer's one call. */
export const ISSUER_PATH = '/v1/x509svid';
/** The audience of the projected service-account token the issuer accepts (by default). */
export const ISSUER_AUDIENCE = 'nsm-issuer';
/** The path of the issuer's own SPIFFE ID; no workload is ever issued it. */
export const ISSUER_ID_PATH = '/nsm-issuer';

/** Options for `issuerIdentity`. */
export interface IssuerIdentityOptions {
  /** `https://nsm-issuer.nsm-system.svc:443`. */
  url: string;
  /** The projected service-account token (re-read at every renewal: the kubelet rotates it). */
  tokenFile: string;
  /** The mesh CA bundle that the issuer's certificate chains to. */
  caFile: string;
  /** How long to keep trying for the first identity (default 30 s: the issuer may be starting too). */
  timeoutMs?: number;
  log?: Logger;
}

/** What the issuer answers. */
interface Answer {
  svid: Svid;
  bundlePem: string;
}

async function readOrSay(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw invalidArgument(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

function newKey(): Promise<{ publicPem: string; privatePem: string }> {
  return new Promise((resolve, reject) =>
    generateKeyPair(
      'ec',
      {
        namedCurve: 'prime256v1',
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, publicPem, privatePem) => (err ? reject(err) : resolve({ publicPem, privatePem })),
    ),
  );
}

/** The issuer's SPIFFE ID, from the trust domain of the CA in `caPem`. */
function expectedIssuerId(caPem: string, caFile: string): string {
  const ca = parsePemCertificates(caPem, caFile)[0]!;
  let td: string;
  try {
    td = spiffeIdOfCertificate(ca).trustDomain;
  } catch (err) {
    throw invalidArgument(`${caFile}: the CA names no trust domain: ${(err as Error).message}`);
  }
  return `spiffe://${td}${ISSUER_ID_PATH}`;
}

/** One call to the issuer. Errors: UNAVAILABLE (not reachable, 5xx), UNAUTHENTICATED (401), PERMISSION_DENIED (403). */
async function fetchSvid(options: IssuerIdentityOptions): Promise<Answer> {
  const [token, caPem, key] = await Promise.all([
    readOrSay(options.tokenFile, 'the service-account token file'),
    readOrSay(options.caFile, 'the mesh CA file'),
    newKey(),
  ]);
  const issuerId = expectedIssuerId(caPem, options.caFile);
  let url: URL;
  try {
    url = new URL(ISSUER_PATH, options.url);
  } catch {
    throw invalidArgument(`issuer URL "${options.url}" is malformed: expected https://<host>:<port>`);
  }
  if (url.protocol !== 'https:')
    throw invalidArgument(`issuer URL "${options.url}" is not https: expected https://<host>:<port>`);
  const body = JSON.stringify({ publicKey: key.publicPem });
  const { code, text } = await new Promise<{ code: number; text: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: caPem,
        headers: {
          authorization: `Bearer ${token.trim()}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: 10_000,
        // The issuer is recognised by its SPIFFE ID, not by a host name.
        checkServerIdentity: (_host: string, cert: PeerCertificate) => {
          const uris = (cert.subjectaltname ?? '').split(/,\s*/).filter((e) => e.startsWith('URI:'));
          return uris.includes(`URI:${issuerId}`)
            ? undefined
            : new Error(
                `the server at ${options.url} is not the issuer: it presents ${uris.join(', ') || 'no URI SAN'}, expected ${issuerId}`,
              );
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  }).catch((err: Error) => {
    throw new NsmError(Code.UNAVAILABLE, `the issuer at ${options.url} is not reachable: ${err.message}`);
  });
  let answer: { spiffeId?: unknown; svid?: unknown; bundle?: unknown; error?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    answer = { error: text.slice(0, 200) };
  }
  if (code !== 200) {
    const why = `the issuer at ${options.url} refused (${code}): ${typeof answer.error === 'string' ? answer.error : 'no reason given'}`;
    throw new NsmError(
      code === 401
        ? Code.UNAUTHENTICATED
        : code === 403
          ? Code.PERMISSION_DENIED
          : code >= 500
            ? Code.UNAVAILABLE
            : Code.INVALID_ARGUMENT,
      why,
    );
  }
  if (typeof answer.svid !== 'string' || typeof answer.bundle !== 'string')
    throw new NsmError(Code.UNAVAILABLE, `the issuer at ${options.url} answered without svid and bundle`);
  const svid = svidFromPem(answer.svid, key.privatePem, `the X.509-SVID from ${options.url}`);
  parsePemCertificates(answer.bundle, `the trust bundle from ${options.url}`);
  return { svid, bundlePem: answer.bundle };
}

/** The longest delay setTimeout keeps (a longer one fires at once). */
export const MAX_TIMER_MS = 2_147_483_647;

/** When to renew an SVID received at `receivedAt`: 2/3 of the way to its expiry. */
function renewAt(svid: Svid, receivedAt: number): number {
  return receivedAt + ((svid.notAfter - receivedAt) * 2) / 3;
}

/**
 * Gets an identity from the issuer, retrying until `timeoutMs` (the error of the last try says why it
 * failed: not reachable, token refused, namespace not allowed), and keeps it renewed.
 * Usage: `const identity = await issuerIdentity({ url, tokenFile, caFile, log })`.
 */
export async function issuerIdentity(options: IssuerIdentityOptions): Promise<Identity> {
  const log = options.log ?? silentLogger;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let first: Answer | undefined;
  for (let attempt = 1; !first; attempt++) {
    try {
      first = await fetchSvid(options);
    } catch (err) {
      const code = err instanceof NsmError ? err.code : Code.UNKNOWN;
      const wait = backoffDelay(attempt, { initialMs: 250, maxMs: 5000 });
      // A bad setting does not get better by waiting.
      if (code === Code.INVALID_ARGUMENT || Date.now() + wait > deadline) throw err;
      log.info({ err: (err as Error).message, attempt }, 'no identity from the issuer yet; retrying');
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const identity = new MutableIdentity(first.svid, first.bundlePem, {
    what: `the trust bundle from ${options.url}`,
    close: () => {
      closed = true;
      clearTimeout(timer);
    },
  });
  const schedule = (at: number): void => {
    if (closed) return;
    // setTimeout fires at once beyond 2^31 - 1 ms (24.8 days): wait in steps for long lifetimes.
    const wait = Math.max(0, at - Date.now());
    timer = setTimeout(
      () => (wait > MAX_TIMER_MS ? schedule(at) : void renew(1)),
      Math.min(wait, MAX_TIMER_MS),
    );
    timer.unref();
  };
  const renew = async (attempt: number): Promise<void> => {
    try {
      const next = await fetchSvid(options);
      if (closed) return;
      identity.update(next.svid, next.bundlePem, `the trust bundle from ${options.url}`);
      log.info(
        { id: next.svid.id.id, notAfter: new Date(next.svid.notAfter).toISOString() },
        'identity renewed by the issuer',
      );
      schedule(renewAt(next.svid, Date.now()));
    } catch (err) {
      const current = identity.svid();
      log.warn(
        { err: (err as Error).message, attempt, notAfter: new Date(current.notAfter).toISOString() },
        'cannot renew the identity from the issuer; keeping the current one',
      );
      if (closed) return;
      timer = setTimeout(
        () => void renew(attempt + 1),
        backoffDelay(attempt, { initialMs: 1000, maxMs: 30_000 }),
      );
      timer.unref();
    }
  };
  schedule(renewAt(first.svid, Date.now()));
  log.info({ id: identity.id, url: options.url }, 'identity from the issuer');
  return identity;
}

/** The SPIFFE ID the issuer gives a service account. Usage: `serviceAccountId('nsm.local', 'epc', 'default')`. */
export function serviceAccountId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

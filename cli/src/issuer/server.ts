/**
 * The issuer's HTTPS API: `POST /v1/x509svid` with the workload's projected service-account token as
 * bearer and its public key as `{"publicKey": "<SPKI PEM>"}`; the answer is an X.509-SVID for
 * `spiffe://<td>/ns/<namespace>/sa/<service account>` and the trust bundle. `GET /healthz` answers ok.
 * The issuer serves with its own SVID `spiffe://<td>/nsm-issuer` (plus its Service's DNS names), renewed
 * at 2/3 of its lifetime.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NsmError, type Logger } from '@nsm-ts/sdk/core';
import { ISSUER_ID_PATH, ISSUER_PATH, MAX_TIMER_MS, serviceAccountId } from '@nsm-ts/sdk/security';
import { issueCertificate, issueSvid, publicKeyFromPem, type MeshCa } from '../pki/ca.js';
import { ReviewError, type Reviewed } from './review.js';

/** Options for `startIssuer`. */
export interface IssuerServerOptions {
  ca: MeshCa;
  host: string;
  port: number;
  /** DNS names of the issuer's Service, in its serving certificate for clients that check names. */
  dnsNames: string[];
  /** Lifetime of issued certificates. */
  lifetimeMs: number;
  /** Namespaces whose service accounts get identities (empty: all). */
  allowedNamespaces: string[];
  /** Who a token belongs to (a TokenReview); throws ReviewError. */
  review: (token: string) => Promise<Reviewed>;
  log: Logger;
}

/** A running issuer. */
export interface RunningIssuer {
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024;

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Refusal(413, `the request body is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the issuer. Usage: `const issuer = await startIssuer({ ca, host: '0.0.0.0', port: 8443, ... })`. */
export async function startIssuer(options: IssuerServerOptions): Promise<RunningIssuer> {
  const { ca, log } = options;
  const selfId = `spiffe://${ca.trustDomain}${ISSUER_ID_PATH}`;
  const servingLifetime = Math.max(options.lifetimeMs, 3_600_000);
  const first = await issueSvid(ca, { id: selfId, lifetimeMs: servingLifetime, dnsNames: options.dnsNames });
  let renewal: NodeJS.Timeout | undefined;

  const issue = async (req: IncomingMessage): Promise<Record<string, string>> => {
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || auth.length <= 'Bearer '.length)
      throw new Refusal(
        401,
        'no bearer token: send the projected service-account token as "Authorization: Bearer <token>"',
      );
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
      throw new Refusal(
        415,
        `content-type ${req.headers['content-type'] ?? '(none)'}: expected application/json`,
      );
    let body: { publicKey?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch (err) {
      if (err instanceof Refusal) throw err;
      throw new Refusal(400, `the body is not JSON: expected {"publicKey": "<SPKI PEM>"}`);
    }
    if (typeof body?.publicKey !== 'string')
      throw new Refusal(400, 'the body has no "publicKey": expected {"publicKey": "<SPKI PEM>"}');
    let publicKey;
    try {
      publicKey = await publicKeyFromPem(body.publicKey, 'publicKey');
    } catch (err) {
      throw new Refusal(400, (err as Error).message);
    }
    let who: Reviewed;
    try {
      who = await options.review(auth.slice('Bearer '.length).trim());
    } catch (err) {
      if (err instanceof ReviewError) throw new Refusal(err.status, err.message);
      throw err;
    }
    if (options.allowedNamespaces.length > 0 && !options.allowedNamespaces.includes(who.namespace))
      throw new Refusal(
        403,
        `namespace ${who.namespace} is not served: the issuer serves ${options.allowedNamespaces.join(', ')}`,
      );
    const id = serviceAccountId(ca.trustDomain, who.namespace, who.serviceAccount);
    const cert = await issueCertificate(ca, { id, lifetimeMs: options.lifetimeMs, publicKey });
    log.info({ id, pod: who.pod, notAfter: new Date(cert.notAfter).toISOString() }, 'X.509-SVID issued');
    return {
      spiffeId: id,
      svid: cert.chainPem,
      bundle: ca.certPem,
      notAfter: new Date(cert.notAfter).toISOString(),
    };
  };

  const answer = (res: ServerResponse, status: number, body: unknown): void => {
    // A body left unread (too large) is not worth reading: close the connection after the answer.
    res.writeHead(status, {
      'content-type': 'application/json',
      ...(status === 413 ? { connection: 'close' } : {}),
    });
    res.end(JSON.stringify(body));
  };

  const server: Server = createServer({ cert: first.chainPem, key: first.keyPem }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://issuer').pathname;
    if (req.method === 'GET' && path === '/healthz') return answer(res, 200, { status: 'ok' });
    if (path !== ISSUER_PATH)
      return answer(res, 404, { error: `no ${path}: the issuer serves POST ${ISSUER_PATH}` });
    if (req.method !== 'POST') return answer(res, 405, { error: `${req.method} ${path}: expected POST` });
    const remote = req.socket.remoteAddress;
    issue(req).then(
      (issued) => answer(res, 200, issued),
      (err: unknown) => {
        if (err instanceof Refusal) {
          log.warn({ status: err.status, reason: err.message, remote }, 'X.509-SVID refused');
          return answer(res, err.status, { error: err.message });
        }
        log.error({ err: err instanceof NsmError ? err.message : err }, 'issuing failed');
        answer(res, 500, { error: 'the issuer failed; see its log' });
      },
    );
  });

  let closed = false;
  const renewServing = (): void => {
    issueSvid(ca, { id: selfId, lifetimeMs: servingLifetime, dnsNames: options.dnsNames }).then(
      (next) => {
        if (closed) return;
        server.setSecureContext({ cert: next.chainPem, key: next.keyPem });
        log.info(
          { id: selfId, notAfter: new Date(next.notAfter).toISOString() },
          'serving certificate renewed',
        );
        scheduleRenewal(next.notAfter);
      },
      (err: unknown) => {
        log.error({ err }, 'cannot renew the serving certificate; retrying in 10 s');
        if (closed) return;
        renewal = setTimeout(renewServing, 10_000);
        renewal.unref();
      },
    );
  };
  const scheduleRenewal = (notAfter: number): void => {
    const at = Date.now() + ((notAfter - Date.now()) * 2) / 3;
    const wait = (): void => {
      const left = Math.max(0, at - Date.now());
      // In steps: setTimeout fires at once beyond MAX_TIMER_MS.
      renewal = setTimeout(left > MAX_TIMER_MS ? wait : renewServing, Math.min(left, MAX_TIMER_MS));
      renewal.unref();
    };
    wait();
  };
  scheduleRenewal(first.notAfter);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      closed = true;
      clearTimeout(renewal);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The admission webhook's HTTPS server: `POST /mutate` takes an AdmissionReview
 * (`admission.k8s.io/v1`) and answers it with the decision of `mutate` (a base64 JSON Patch when the
 * object changes); `GET /ready` answers 200 once serving. A body that is not an AdmissionReview gets a
 * 400 naming what is wrong; nothing a caller sends stops the server.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@nsm-ts/sdk/core';
import { mutate, type MutateOptions } from './mutate.js';

/** Options for `startWebhook`. */
export interface WebhookOptions extends MutateOptions {
  certPem: string;
  keyPem: string;
  /** Host and port to listen on (port 0 picks one). */
  host: string;
  port: number;
  log: Logger;
  /** The annotations of a namespace (Pods may be annotated through their namespace). */
  namespaceAnnotations(namespace: string): Promise<Record<string, string>>;
  /** Largest accepted body (default 4 MiB). */
  maxBodyBytes?: number;
}

/** A running webhook. */
export interface RunningWebhook {
  readonly port: number;
  close(): Promise<void>;
}

class BadRequest extends Error {}

interface Review {
  apiVersion?: unknown;
  kind?: unknown;
  request?: {
    uid?: unknown;
    kind?: { kind?: unknown };
    operation?: unknown;
    namespace?: unknown;
    name?: unknown;
    object?: unknown;
  };
}

function parseReview(text: string): Required<Pick<Review, 'request'>> & { uid: string; kind: string } {
  let review: Review;
  try {
    review = JSON.parse(text) as Review;
  } catch (err) {
    throw new BadRequest(`the body is not JSON: ${(err as Error).message}`);
  }
  if (typeof review !== 'object' || review === null || review.kind !== 'AdmissionReview')
    throw new BadRequest('the body is not an AdmissionReview: expected kind AdmissionReview');
  if (review.apiVersion !== 'admission.k8s.io/v1')
    throw new BadRequest(
      `AdmissionReview ${String(review.apiVersion)} is not served: expected admission.k8s.io/v1`,
    );
  const request = review.request;
  if (!request || typeof request.uid !== 'string' || request.uid === '')
    throw new BadRequest('the AdmissionReview has no request.uid');
  const kind = request.kind?.kind;
  if (typeof kind !== 'string') throw new BadRequest('the AdmissionReview has no request.kind.kind');
  return { request, uid: request.uid, kind };
}

/** Starts serving. Usage: `const hook = await startWebhook({ ...MUTATE_DEFAULTS, image, certPem, keyPem, ... })`. */
export async function startWebhook(options: WebhookOptions): Promise<RunningWebhook> {
  const max = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const answer = async (text: string): Promise<object> => {
    const { request, uid, kind } = parseReview(text);
    const response = (extra: object) => ({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid, ...extra },
    });
    if (request.operation !== 'CREATE') return response({ allowed: true });
    const namespace = typeof request.namespace === 'string' ? request.namespace : '';
    const nsAnnotations = kind === 'Pod' && namespace ? await options.namespaceAnnotations(namespace) : {};
    let decision;
    try {
      decision = mutate(kind, request.object, nsAnnotations, options);
    } catch (err) {
      throw new BadRequest((err as Error).message);
    }
    const where = { uid, kind, namespace, name: request.name };
    if (!decision.allowed) {
      options.log.info({ ...where, reason: decision.reason }, 'admission refused');
      return response({
        allowed: false,
        status: { code: 400, reason: 'BadRequest', message: decision.reason },
      });
    }
    if (!decision.patch) return response({ allowed: true });
    options.log.info({ ...where, reason: decision.reason }, 'client injected');
    return response({
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(decision.patch)).toString('base64'),
    });
  };

  const server: Server = createServer({ cert: options.certPem, key: options.keyPem }, (req, res) => {
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
      res.end(typeof body === 'string' ? `${body}\n` : JSON.stringify(body));
    };
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/ready') return reply(200, 'ready');
    if (path !== '/mutate') return reply(404, `no such path ${path}: expected POST /mutate or GET /ready`);
    if (req.method !== 'POST') return reply(405, `${req.method} /mutate: expected POST`);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reply(413, `the body is larger than ${max} bytes`);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      answer(Buffer.concat(chunks).toString('utf8')).then(
        (body) => reply(200, body),
        (err: unknown) => {
          if (err instanceof BadRequest) {
            options.log.warn({ err: err.message }, 'bad admission request');
            reply(400, err.message);
          } else {
            options.log.error({ err }, 'admission request failed');
            reply(500, `admission failed: ${(err as Error).message}`);
          }
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

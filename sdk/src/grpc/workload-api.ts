/**
 * Identity from the SPIFFE Workload API (a SPIRE agent's socket, `SPIFFE_ENDPOINT_SOCKET`): the first
 * X.509-SVID of the stream and its bundle, updated in place at every rotation the agent streams. The
 * stream is re-opened with backoff when it breaks; the last identity stays in use meanwhile.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { workloadApiProtos } from '@nsm-ts/proto';
import type { X509SVIDResponse__Output } from '@nsm-ts/proto/gen/X509SVIDResponse.js';
import { Code, NsmError, invalidArgument } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import { MutableIdentity, svidFromPem, type Identity, type Svid } from '../security/identity.js';
import { backoffDelay } from '../tools/backoff.js';

/** Options for `workloadApiIdentity`. */
export interface WorkloadApiOptions {
  /** `unix:///run/spire/agent.sock` (also `unix:/path`) or `tcp://127.0.0.1:8081`. */
  address: string;
  /** How long to wait for the first SVID (default 10 s). */
  timeoutMs?: number;
  log?: Logger;
}

/** The gRPC target of a Workload API address; INVALID_ARGUMENT names a malformed one. */
export function workloadApiTarget(address: string): string {
  const unix = /^unix:(?:\/\/)?(\/.+)$/.exec(address);
  if (unix) return `unix://${unix[1]}`;
  const tcp = /^tcp:\/\/(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(address);
  if (tcp) return `${tcp[1]}:${tcp[2]}`;
  throw invalidArgument(
    `SPIFFE Workload API address "${address}" is not usable: expected unix:///absolute/path.sock or tcp://<ip>:<port>`,
  );
}

/** Concatenated DER certificates → PEM, in order. */
function derChainToPem(der: Buffer, what: string): string {
  const pems: string[] = [];
  let rest = der;
  while (rest.length > 0) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(rest);
    } catch (err) {
      throw invalidArgument(
        `${what}: certificate ${pems.length + 1} is malformed: ${(err as Error).message}`,
      );
    }
    pems.push(cert.toString());
    rest = rest.subarray(cert.raw.length);
  }
  if (pems.length === 0) throw invalidArgument(`${what} is empty`);
  return pems.join('');
}

function fromResponse(response: X509SVIDResponse__Output): { svid: Svid; bundlePem: string } {
  const first = response.svids[0];
  if (!first) throw invalidArgument('the SPIFFE Workload API answered no X.509-SVID for this workload');
  const chainPem = derChainToPem(first.x509_svid, `X.509-SVID ${first.spiffe_id}`);
  let keyPem: string;
  try {
    keyPem = createPrivateKey({ key: first.x509_svid_key, format: 'der', type: 'pkcs8' })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
  } catch (err) {
    throw invalidArgument(
      `the key of X.509-SVID ${first.spiffe_id} is not PKCS#8 DER: ${(err as Error).message}`,
    );
  }
  const svid = svidFromPem(chainPem, keyPem, `X.509-SVID ${first.spiffe_id} from the Workload API`);
  return { svid, bundlePem: derChainToPem(first.bundle, `trust bundle of ${first.spiffe_id}`) };
}

/**
 * Connects to the Workload API and resolves with the identity once the first SVID arrives.
 * Usage: `const identity = await workloadApiIdentity({ address: process.env.SPIFFE_ENDPOINT_SOCKET, log })`.
 */
export function workloadApiIdentity(options: WorkloadApiOptions): Promise<Identity> {
  const log = options.log ?? silentLogger;
  const target = workloadApiTarget(options.address);
  const api = workloadApiProtos().SpiffeWorkloadAPI.service.FetchX509SVID;
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  let identity: MutableIdentity | undefined;
  let closed = false;
  let call: grpc.ClientReadableStream<X509SVIDResponse__Output> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let attempt = 0;

  return new Promise<Identity>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (identity) return;
      closed = true;
      call?.cancel();
      client.close();
      reject(
        new NsmError(
          Code.UNAVAILABLE,
          `no X.509-SVID from the SPIFFE Workload API at ${options.address} within ${options.timeoutMs ?? 10_000} ms`,
        ),
      );
    }, options.timeoutMs ?? 10_000);

    const open = (): void => {
      if (closed) return;
      const md = new grpc.Metadata();
      md.set('workload.spiffe.io', 'true');
      call = client.makeServerStreamRequest(
        api.path,
        api.requestSerialize,
        api.responseDeserialize,
        {},
        md,
        {},
      );
      call.on('data', (response: X509SVIDResponse__Output) => {
        attempt = 0;
        try {
          const next = fromResponse(response);
          if (!identity) {
            identity = new MutableIdentity(next.svid, next.bundlePem, {
              what: 'the Workload API trust bundle',
              close: () => {
                closed = true;
                clearTimeout(retry);
                call?.cancel();
                client.close();
              },
            });
            clearTimeout(timer);
            log.info(
              { id: next.svid.id.id, address: options.address },
              'identity from the SPIFFE Workload API',
            );
            resolve(identity);
          } else {
            identity.update(next.svid, next.bundlePem, 'the Workload API trust bundle');
            log.info({ id: next.svid.id.id }, 'identity rotated by the SPIFFE Workload API');
          }
        } catch (err) {
          log.warn(
            { err: (err as Error).message },
            'the SPIFFE Workload API sent an unusable SVID; keeping the current one',
          );
        }
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (closed) return;
        const delay = backoffDelay(++attempt, { initialMs: 200, maxMs: 5000 });
        log.warn({ err: err.details || err.message, retryInMs: delay }, 'SPIFFE Workload API stream broke');
        retry = setTimeout(open, delay);
        retry.unref();
      });
      call.on('end', () => undefined);
    };
    open();
  });
}

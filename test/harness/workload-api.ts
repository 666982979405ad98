/**
 * A SPIFFE Workload API server for the suites, standing in for a SPIRE agent (none runs here): it serves
 * `FetchX509SVID` from the NSM protos' copy of the API, streams an SVID issued by a mesh CA to callers
 * that send the `workload.spiffe.io` header, and streams a new one whenever the test rotates it.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { workloadApiProtos } from '@nsm-ts/proto';
import { issueSvid } from '@nsm-ts/cli/pki';
import type { MeshPki } from '../../bench/src/mesh/pki.js';

/** A running stand-in agent. */
export interface WorkloadApiServer {
  readonly address: string;
  /** Issues a new SVID for `id` and streams it to every caller. */
  rotate(): Promise<void>;
  /** Ends every stream with UNAVAILABLE (an agent restarting). */
  breakStreams(): void;
  /** Calls that lacked the security header. */
  readonly refused: number;
  close(): Promise<void>;
}

const der = (pem: string): Buffer => new X509Certificate(pem).raw;

/** Serves `id`'s SVIDs from `pki` on unix socket `path`. */
export async function startWorkloadApi(pki: MeshPki, id: string, path: string): Promise<WorkloadApiServer> {
  const api = workloadApiProtos().SpiffeWorkloadAPI.service;
  const streams = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  let current: unknown;
  let refused = 0;
  const issue = async (): Promise<void> => {
    const svid = await issueSvid(pki.ca, { id, lifetimeMs: 3_600_000 });
    current = {
      svids: [
        {
          spiffe_id: id,
          x509_svid: der(svid.chainPem),
          x509_svid_key: createPrivateKey(svid.keyPem).export({ type: 'pkcs8', format: 'der' }),
          bundle: der(pki.ca.certPem),
          hint: '',
        },
      ],
      crl: [],
      federated_bundles: {},
    };
  };
  await issue();
  const server = new grpc.Server();
  server.addService(api, {
    FetchX509SVID: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      if (call.metadata.get('workload.spiffe.io')[0] !== 'true') {
        refused++;
        call.emit('error', {
          code: grpc.status.INVALID_ARGUMENT,
          details: 'security header missing from request',
        });
        return;
      }
      streams.add(call);
      call.on('cancelled', () => streams.delete(call));
      call.write(current);
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return {
    address: `unix://${path}`,
    get refused() {
      return refused;
    },
    async rotate() {
      await issue();
      for (const call of streams) call.write(current);
    },
    breakStreams() {
      for (const call of streams)
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'agent restarting' });
      streams.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Callers' streams stay open as long as they run: do not wait for them.
        for (const call of streams) call.end();
        streams.clear();
        const force = setTimeout(() => server.forceShutdown(), 1000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/**
 * mTLS at the gRPC boundary: both sides present X.509-SVIDs of one trust domain; a process with a
 * certificate from another CA, or none, is refused on unix sockets and TCP; served calls see their
 * caller's SPIFFE ID; a dialler can insist on the server's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '@nsm-ts/sdk/core';
import { Code, NsmError } from '@nsm-ts/sdk/core';
import { createServer, dial, servedCallOf, type MeshServer } from '@nsm-ts/sdk/grpc';
import { newRequest } from '@nsm-ts/sdk/api';
import { MeshPki } from '../../bench/src/mesh/pki.js';
import { freePort } from '../../bench/src/mesh/ports.js';

let pki: MeshPki;
let rogue: MeshPki;
let server: MeshServer;
let urls: string[];
const dir = mkdtempSync(join(tmpdir(), 'nsm-tls-'));
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  pki = await MeshPki.create('nsm.test');
  rogue = await MeshPki.create('nsm.test');
  server = createServer({ identity: await pki.identity(['nsmgr', 'node-1']) });
  server.serveNetworkService({
    request: (ctx, req) => {
      seen.push(servedCallOf(ctx)?.peer?.id);
      return Promise.resolve(req.connection!);
    },
    close: () => Promise.resolve(),
  });
  urls = await server.listen([`unix://${join(dir, 'nsmgr.sock')}`, `tcp://127.0.0.1:${await freePort()}`]);
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const request = newRequest({ id: 'c1', network_service: 'svc' });
const ctx = () => createContext({ deadline: Date.now() + 3000 });

describe('mTLS', () => {
  it.each([0, 1])('serves a caller of the trust domain and tells the chain who it is (url %i)', async (i) => {
    const client = dial(urls[i]!, { identity: await pki.identity(['ns', 'default', 'pod', 'web']) });
    try {
      await client.networkService.request(ctx(), request);
      expect(seen.at(-1)).toBe('spiffe://nsm.test/ns/default/pod/web');
    } finally {
      client.close();
    }
  });

  it.each([0, 1])(
    'refuses a caller with a certificate of another CA, or none, saying why (url %i)',
    async (i) => {
      const cases: [ReturnType<typeof dial>, RegExp][] = [
        // The rogue's CA does not know ours either: it is the first to refuse, as an unknown CA.
        [
          dial(urls[i]!, { identity: await rogue.identity(['nsmgr', 'node-1']), dialTimeoutMs: 300 }),
          /certificate/i,
        ],
        [dial(urls[i]!, { dialTimeoutMs: 300 }), /.+/],
      ];
      for (const [client, why] of cases) {
        try {
          const err = await client.networkService.request(ctx(), request).then(
            () => undefined,
            (e: unknown) => NsmError.from(e),
          );
          expect(err?.code).toBe(Code.UNAVAILABLE);
          expect(err?.message).toMatch(/cannot connect to .* within 300 ms: /);
          expect(err?.message).toMatch(why);
        } finally {
          client.close();
        }
      }
      expect(seen.every((id) => id === 'spiffe://nsm.test/ns/default/pod/web')).toBe(true);
    },
  );

  it('lets a dialler insist on the server identity it expects', async () => {
    const client = dial(urls[0]!, {
      identity: await pki.identity(['ns', 'default', 'pod', 'web']),
      expectPeer: (id) => (id.path.startsWith('/registry') ? undefined : 'expected the registry'),
      dialTimeoutMs: 300,
    });
    try {
      const err = await client.networkService.request(ctx(), request).then(
        () => undefined,
        (e: unknown) => NsmError.from(e),
      );
      expect(err?.code).toBe(Code.UNAVAILABLE);
      expect(err?.message).toContain('server spiffe://nsm.test/nsmgr/node-1 refused: expected the registry');
    } finally {
      client.close();
    }
  });
});

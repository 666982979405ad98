/**
 * mTLS at the gRPC boundary: both sides present X.509-SVIDs of one trust domain; a process with a
 * certificate from another CA, or none, is refused on unix sockets and TCP; served calls see their
 * caller's SPIFFE ID; a dialler can insist on the server's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, TLSSocket } from 'node:tls';
import { MutableIdentity, type Identity } from '@nsm-ts/sdk/security';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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

  it('keeps callers on their own connections apart, looking each peer up once per connection', async () => {
    const web = dial(urls[1]!, { identity: await pki.identity(['ns', 'default', 'pod', 'web']) });
    const db = dial(urls[1]!, { identity: await pki.identity(['ns', 'default', 'pod', 'db']) });
    try {
      await web.networkService.request(ctx(), request);
      await db.networkService.request(ctx(), request);
      const lookups = vi.spyOn(TLSSocket.prototype, 'getPeerCertificate');
      const from = seen.length;
      for (let i = 0; i < 10; i++) {
        await web.networkService.request(ctx(), request);
        await db.networkService.request(ctx(), request);
      }
      // Both connections were open before counting: their peers are known, no call asks its socket again.
      expect(lookups).not.toHaveBeenCalled();
      lookups.mockRestore();
      expect(seen.slice(from)).toEqual(
        Array.from({ length: 20 }, (_, i) => `spiffe://nsm.test/ns/default/pod/${i % 2 ? 'db' : 'web'}`),
      );
    } finally {
      web.close();
      db.close();
    }
  });

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

describe('rotation', () => {
  /** The serial number of the certificate the server at unix socket `path` presents now. */
  async function servedSerial(path: string, client: Identity): Promise<string> {
    const svid = client.svid();
    return new Promise((resolve, reject) => {
      const socket = connect({
        path,
        ca: client.bundlePem(),
        key: svid.keyPem,
        cert: svid.chainPem,
        ALPNProtocols: ['h2'],
        checkServerIdentity: () => undefined,
      });
      socket.once('secureConnect', () => {
        const serial = socket.getPeerCertificate().serialNumber;
        socket.destroy();
        resolve(serial);
      });
      socket.once('error', reject);
    });
  }

  it('new connections get the rotated certificate; calls keep working across the change', async () => {
    const first = await pki.identity(['nsmgr', 'node-r'], 600_000);
    const identity = new MutableIdentity(first.svid(), first.bundlePem());
    const rotating = createServer({ identity });
    rotating.serveNetworkService({
      request: (_ctx, req) => Promise.resolve(req.connection!),
      close: () => Promise.resolve(),
    });
    const socket = join(dir, 'rotating.sock');
    const [url] = await rotating.listen([`unix://${socket}`]);
    const web = await pki.identity(['ns', 'default', 'pod', 'web']);
    const client = dial(url!, { identity: web });
    try {
      await client.networkService.request(ctx(), request);
      const before = await servedSerial(socket, web);
      expect(before.toLowerCase()).toBe(first.svid().chain[0]!.serialNumber.toLowerCase());
      const next = await pki.identity(['nsmgr', 'node-r'], 900_000);
      identity.update(next.svid(), next.bundlePem());
      await new Promise((r) => setTimeout(r, 20)); // the provider hands the update on in a microtask
      const after = await servedSerial(socket, web);
      expect(after.toLowerCase()).toBe(next.svid().chain[0]!.serialNumber.toLowerCase());
      // The channel opened before the rotation still serves calls.
      await client.networkService.request(ctx(), request);
    } finally {
      client.close();
      await rotating.close();
    }
  });
});

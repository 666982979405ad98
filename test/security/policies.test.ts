/**
 * Every hop authorises: with mTLS admitting only certificates of the mesh CA, the policies refuse what a
 * holder of a valid certificate must not do. Each refusal is PERMISSION_DENIED naming the policy. The
 * mesh runs in process, as secured as the lab: a client's real path is taken, then presented to each
 * hop (manager, forwarder, endpoint) with one thing wrong, by a caller holding the identity of the hop
 * before it (issued anew from the CA, so with a key of its own).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clone, newMechanism } from '@nsm-ts/sdk/api';
import type { Connection } from '@nsm-ts/sdk/api';
import { Code, FakeClock, NsmError, createContext } from '@nsm-ts/sdk/core';
import type { MeshClient } from '@nsm-ts/sdk/grpc';
import { identityTokenGenerator, type Identity, type Token, type TokenGenerator } from '@nsm-ts/sdk/security';
import { createMesh, type Mesh } from '../../bench/src/mesh/mesh.js';
import { registerService } from '../../bench/src/mesh/services.js';

let mesh: Mesh;
let conn: Connection;
let hops: { name: string; url: string; previous: string[] }[];

beforeAll(async () => {
  mesh = await createMesh({ nodes: 1 });
  await registerService(mesh, { name: 'svc' });
  const nse = await mesh.endpoint(1, { name: 'nse-a', serviceNames: ['svc'], cidrPrefix: '10.80.0.0/24' });
  const client = mesh.client(1, { name: 'nsc' });
  conn = await client.request({ networkService: 'svc', mechanisms: ['NOOP'] });
  client.abandon(); // the path stays as it is; the tests present copies of it
  hops = [
    { name: 'manager', url: mesh.node(1).managerUrl, previous: ['ns', 'default', 'sa', 'default'] },
    { name: 'forwarder', url: mesh.node(1).forwarderUrl, previous: ['nsmgr', 'node-1'] },
    { name: 'endpoint', url: nse.url, previous: ['forwarder', 'node-1'] },
  ];
}, 30_000);

afterAll(async () => {
  await mesh.close();
});

/** The request hop `h` (1 = manager) received on the real path: the segments before it, index h - 1. */
function requestFor(h: number): { connection: Connection; mechanism_preferences: never[] } {
  const c = clone(conn);
  c.path!.path_segments = c.path!.path_segments.slice(0, h);
  c.path!.index = h - 1;
  c.id = c.path!.path_segments[h - 1]!.id;
  c.mechanism = newMechanism('NOOP', 'LOCAL');
  return { connection: c, mechanism_preferences: [] };
}

/** Calls `url` with `identity`, sending `token` (or a fresh one of its own) as the per-call token. */
async function call(
  identity: Identity,
  url: string,
  req: ReturnType<typeof requestFor>,
  token?: (own: Token) => Token,
  signer?: TokenGenerator,
): Promise<NsmError | undefined> {
  const own = identityTokenGenerator({ identity });
  let client: MeshClient | undefined;
  try {
    client = mesh.dialAs(identity, url, {
      tokens: async (ctx, peer) => {
        if (signer) return signer(ctx, peer);
        const mine = await own(ctx, peer);
        return token ? token(mine) : mine;
      },
    });
    await client.networkService.request(createContext({ deadline: Date.now() + 5000 }), req);
    return undefined;
  } catch (err) {
    return NsmError.from(err);
  } finally {
    client?.close();
  }
}

/** A token signed by `identity` when the clock read `atMs`. */
async function tokenAt(identity: Identity, atMs: number, aud: string): Promise<Token> {
  const ctx = createContext({ clock: new FakeClock(atMs) });
  return identityTokenGenerator({ identity, lifetimeMs: 60_000 })(ctx, { id: aud });
}

function expectDenied(err: NsmError | undefined, policy: string, why?: RegExp): void {
  expect(err?.code, err?.message).toBe(Code.PERMISSION_DENIED);
  expect(err?.message).toMatch(new RegExp(`^${policy}: `));
  if (why) expect(err?.message).toMatch(why);
}

describe('policies at every hop', () => {
  it.each([1, 2, 3])(
    'hop %i takes the real path from a caller with the previous hop’s identity',
    async (h) => {
      const hop = hops[h - 1]!;
      const caller = await mesh.pki!.identity(hop.previous);
      expect(await call(caller, hop.url, requestFor(h))).toBeUndefined();
    },
  );

  it.each([1, 2, 3])(
    'hop %i refuses a forged token (claims changed, signature kept): tokens_valid',
    async (h) => {
      const hop = hops[h - 1]!;
      const caller = await mesh.pki!.identity(hop.previous);
      const forge = (t: string): string => {
        const [head, body, sig] = t.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
        claims['exp'] = Number(claims['exp']) + 86_400;
        return `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
      };
      const req = requestFor(h);
      if (h === 1) {
        expectDenied(
          await call(caller, hop.url, req, (own) => ({ ...own, token: forge(own.token) })),
          'tokens_valid',
        );
      } else {
        req.connection.path!.path_segments[0]!.token = forge(req.connection.path!.path_segments[0]!.token);
        expectDenied(
          await call(caller, hop.url, req),
          'tokens_valid',
          /path segment 0 \(nsc\) does not verify/,
        );
      }
    },
  );

  it.each([1, 2, 3])(
    'hop %i refuses a JWT whose exp passed although expires is ahead: tokens_expired',
    async (h) => {
      const hop = hops[h - 1]!;
      const caller = await mesh.pki!.identity(hop.previous);
      const hourAgo = Date.now() - 3_600_000;
      const req = requestFor(h);
      if (h === 1) {
        const old = await tokenAt(caller, hourAgo, mesh.pki!.id('nsmgr', 'node-1'));
        const err = await call(caller, hop.url, req, () => ({
          token: old.token,
          expiresAt: Date.now() + 600_000,
        }));
        expectDenied(err, 'tokens_expired', /path segment 0 \(nsc\) expired at/);
      } else {
        // The first hop's token, as it was an hour ago (same identity, properly signed, long expired).
        const nsc = await mesh.pki!.identity(['ns', 'default', 'sa', 'default']);
        req.connection.path!.path_segments[0]!.token = (
          await tokenAt(nsc, hourAgo, mesh.pki!.id('nsmgr', 'node-1'))
        ).token;
        expectDenied(await call(caller, hop.url, req), 'tokens_expired', /path segment 0 \(nsc\) expired/);
      }
    },
  );

  it.each([1, 2, 3])(
    'hop %i refuses a replayed token (signed by another key of the same identity): prev_token_signed',
    async (h) => {
      const hop = hops[h - 1]!;
      const caller = await mesh.pki!.identity(hop.previous);
      // The token the real previous hop put on the path: valid, for this hop, but not signed by our TLS key.
      const captured = conn.path!.path_segments[h - 1]!;
      const replay = (): Token => ({ token: captured.token, expiresAt: Date.now() + 300_000 });
      expectDenied(
        await call(caller, hop.url, requestFor(h), replay),
        'prev_token_signed',
        /is not signed by the peer/,
      );
    },
  );

  it.each([1, 2, 3])(
    'hop %i takes tokens its caller signs after rotating its identity on an open connection',
    async (h) => {
      const hop = hops[h - 1]!;
      const connected = await mesh.pki!.identity(hop.previous, 3_600_000, Date.now() - 10_000);
      const rotated = identityTokenGenerator({ identity: await mesh.pki!.identity(hop.previous) });
      expect(await call(connected, hop.url, requestFor(h), undefined, rotated)).toBeUndefined();
    },
  );

  it.each([1, 2, 3])(
    'hop %i refuses a token of an older certificate of its caller’s identity: prev_token_signed',
    async (h) => {
      const hop = hops[h - 1]!;
      const caller = await mesh.pki!.identity(hop.previous);
      const older = identityTokenGenerator({
        identity: await mesh.pki!.identity(hop.previous, 3_600_000, Date.now() - 10_000),
      });
      expectDenied(
        await call(caller, hop.url, requestFor(h), undefined, older),
        'prev_token_signed',
        /is not signed by the peer/,
      );
    },
  );

  it('the endpoint refuses a re-chained path (the manager taken out): tokens_chained', async () => {
    const h = 3;
    const hop = hops[h - 1]!;
    const caller = await mesh.pki!.identity(hop.previous);
    const req = requestFor(h);
    // Drop the hop before the caller's: segment h-2's token is then for a hop that is not the next one.
    const segments = req.connection.path!.path_segments;
    segments.splice(h - 2, 1);
    req.connection.path!.index = segments.length - 1;
    req.connection.id = segments.at(-1)!.id;
    const err = await call(caller, hop.url, req);
    expectDenied(err, 'tokens_chained', /is for spiffe:\/\/nsm.test\/.* not for spiffe:\/\//);
  });

  it.each([2, 3])(
    'hop %i refuses a path spliced from another (segment 0 from a path to another manager): tokens_chained',
    async (h) => {
      const hop = hops[h - 1]!;
      const caller = await mesh.pki!.identity(hop.previous);
      const nsc = await mesh.pki!.identity(['ns', 'default', 'sa', 'default']);
      const req = requestFor(h);
      req.connection.path!.path_segments[0]!.token = (
        await tokenAt(nsc, Date.now(), mesh.pki!.id('nsmgr', 'node-9'))
      ).token;
      expectDenied(
        await call(caller, hop.url, req),
        'tokens_chained',
        /segment 0 \(nsc\) is for spiffe:\/\/nsm.test\/nsmgr\/node-9/,
      );
    },
  );

  it('the manager refuses a per-call token addressed to another hop: tokens_chained', async () => {
    const caller = await mesh.pki!.identity(hops[0]!.previous);
    const elsewhere = await tokenAt(caller, Date.now(), mesh.pki!.id('nsmgr', 'node-9'));
    const err = await call(caller, hops[0]!.url, requestFor(1), () => elsewhere);
    expectDenied(
      err,
      'tokens_chained',
      /is for spiffe:\/\/nsm.test\/nsmgr\/node-9, not for spiffe:\/\/nsm.test\/nsmgr\/node-1/,
    );
  });

  it('a caller of another hop’s kind cannot pass itself off as the previous hop: tokens_chained', async () => {
    const evil = await mesh.pki!.identity(['ns', 'default', 'pod', 'evil']);
    const err = await call(evil, hops[1]!.url, requestFor(2));
    expectDenied(err, 'tokens_chained', /not for spiffe:\/\/nsm.test\/ns\/default\/pod\/evil/);
  });

  it.each(['not-a-jwt', ''])('the manager refuses the per-call token %j', async (bad) => {
    const caller = await mesh.pki!.identity(hops[0]!.previous);
    const err = await call(caller, hops[0]!.url, requestFor(1), (own) => ({ ...own, token: bad }));
    if (bad === '') {
      // No token at all: the caller's segment keeps what the request carried, which this caller did not sign.
      expectDenied(err, 'prev_token_signed', /is not signed by the peer/);
    } else expectDenied(err, 'tokens_valid', /malformed JWT/);
  });
});

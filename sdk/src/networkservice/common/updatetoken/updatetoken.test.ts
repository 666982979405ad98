import { describe, expect, it } from 'vitest';
import { fromTimestamp, newRequest } from '../../../api/builders.js';
import type { Connection, NetworkServiceRequest, PathSegment } from '../../../api/types.js';
import { element, toHandler } from '../../../core/chain.js';
import { FakeClock } from '../../../core/clock.js';
import { createContext, withValue, type Context } from '../../../core/context.js';
import { Code } from '../../../core/errors.js';
import { kIncomingMetadata, kOutgoingMetadata } from '../../../grpc/call-metadata.js';
import { verifyJwt } from '../../../tools/token/jwt.js';
import { jwtTokenGenerator } from '../../../tools/token/token.js';
import { updateToken, updateTokenClient, updateTokenServer } from './updatetoken.js';
import { rejectionOf } from '../../../testing/errors.js';

const clock = new FakeClock(Date.UTC(2026, 0, 1));
const ctx = createContext({ clock });

function segment(name: string, token = ''): PathSegment {
  return { name, id: `${name}-id`, token, expires: null, metrics: {} };
}

function requestAt(index: number, names: string[]): NetworkServiceRequest {
  return newRequest({
    id: `${names[index]}-id`,
    path: { index, path_segments: names.map((n) => segment(n)) },
  });
}

/** A chain tail that records the context metadata and the request it was given. */
function recorder(): {
  seen: { outgoing: Record<string, string>; conn: Connection }[];
  tail: ReturnType<typeof element>;
} {
  const seen: { outgoing: Record<string, string>; conn: Connection }[] = [];
  const note = (c: Context, conn: Connection): void => {
    seen.push({ outgoing: { ...c.value(kOutgoingMetadata) }, conn: structuredClone(conn) });
  };
  const tail = element({
    request: (c, req, next) => {
      note(c, req.connection!);
      return next.request(c, req);
    },
    close: (c, conn, next) => {
      note(c, conn);
      return next.close(c, conn);
    },
  });
  return { seen, tail };
}

describe('updateTokenServer', () => {
  const tokens = jwtTokenGenerator({ name: 'nsmgr-1' });

  it('copies the caller token into the previous segment and signs its own', async () => {
    const handler = toHandler([updateTokenServer(tokens)]);
    const incoming = withValue(ctx, kIncomingMetadata, {
      'nsm-client-token': 'caller.jwt.token',
      'nsm-client-token-expires': '2026-01-01T00:10:00Z',
    });
    const conn = await handler.request(incoming, requestAt(1, ['nsc-1', 'nsmgr-1']));
    const [prev, own] = conn.path!.path_segments;
    expect(prev!.token).toBe('caller.jwt.token');
    expect(fromTimestamp(prev!.expires)).toBe(Date.UTC(2026, 0, 1, 0, 10));
    const claims = verifyJwt(own!.token, tokens.publicKey, { now: clock.now() });
    expect(claims).toMatchObject({ sub: 'nsmgr-1', aud: ['nsc-1'] });
    expect(fromTimestamp(own!.expires)).toBe(claims.exp! * 1000);
  });

  it('leaves the previous segment alone without a complete caller token, and has none at index 0', async () => {
    const handler = toHandler([updateTokenServer(tokens)]);
    const partial = withValue(ctx, kIncomingMetadata, {
      'nsm-client-token': 'x.y.z',
      'nsm-client-token-expires': 'soon',
    });
    const req = requestAt(1, ['nsc-1', 'nsmgr-1']);
    req.connection!.path!.path_segments[0]!.token = 'old';
    const conn = await handler.request(partial, req);
    expect(conn.path!.path_segments[0]!.token).toBe('old');
    const first = await handler.request(ctx, requestAt(0, ['nse-1']));
    expect(verifyJwt(first.path!.path_segments[0]!.token, tokens.publicKey).aud).toBeUndefined();
  });

  it('updates tokens on close as well', async () => {
    const { seen, tail } = recorder();
    const handler = toHandler([updateTokenServer(tokens), tail]);
    const conn = requestAt(1, ['nsc-1', 'nsmgr-1']).connection!;
    await handler.close(
      withValue(ctx, kIncomingMetadata, {
        'nsm-client-token': 'c.l.t',
        'nsm-client-token-expires': '2026-01-01T00:10:00Z',
      }),
      conn,
    );
    expect(seen[0]!.conn.path!.path_segments[0]!.token).toBe('c.l.t');
    expect(seen[0]!.conn.path!.path_segments[1]!.token).not.toBe('');
  });

  it('rejects a path whose index has no segment', async () => {
    const handler = toHandler([updateTokenServer(tokens)]);
    const err = await rejectionOf(handler.request(ctx, newRequest({ id: 'x' })));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('connection.path.index 0 is out of range for 0 path segments');
    const none = await rejectionOf(handler.request(ctx, { connection: null, mechanism_preferences: [] }));
    expect(none.message).toContain('request.connection is missing');
  });
});

describe('updateTokenClient', () => {
  const tokens = jwtTokenGenerator({ name: 'nsc-1' });

  it('signs its own segment and sends the token in outgoing metadata', async () => {
    const { seen, tail } = recorder();
    const handler = toHandler([updateTokenClient(tokens), tail]);
    const conn = await handler.request(ctx, requestAt(0, ['nsc-1']));
    const own = conn.path!.path_segments[0]!;
    expect(verifyJwt(own.token, tokens.publicKey).sub).toBe('nsc-1');
    expect(seen[0]!.outgoing).toEqual({
      'nsm-client-token': own.token,
      'nsm-client-token-expires': new Date(fromTimestamp(own.expires)!).toISOString().replace('.000Z', 'Z'),
    });
  });

  it('names the next hop as audience when a refresh knows it, and sends metadata on close', async () => {
    const { seen, tail } = recorder();
    const handler = toHandler([updateToken(tokens, 'client'), tail]);
    const conn = await handler.request(ctx, requestAt(0, ['nsc-1', 'nsmgr-1']));
    expect(verifyJwt(conn.path!.path_segments[0]!.token, tokens.publicKey).aud).toEqual(['nsmgr-1']);
    await handler.close(ctx, conn);
    expect(seen[1]!.outgoing['nsm-client-token']).toBe(seen[1]!.conn.path!.path_segments[0]!.token);
  });

  it('chains: the server records exactly what the client sent', async () => {
    const serverTokens = jwtTokenGenerator({ name: 'nsmgr-1' });
    const server = toHandler([updateTokenServer(serverTokens)]);
    let sent = '';
    const wire = element({
      // Stands in for gRPC: outgoing metadata of the client becomes incoming metadata of the server.
      request: (c, req) => {
        const received = structuredClone(req);
        sent = received.connection!.path!.path_segments[0]!.token;
        received.connection!.path!.path_segments[0]!.token = ''; // only the metadata carries it over
        received.connection!.path!.path_segments.push(segment('nsmgr-1'));
        received.connection!.path!.index = 1;
        return server.request(withValue(c, kIncomingMetadata, c.value(kOutgoingMetadata)), received);
      },
    });
    const client = toHandler([updateTokenClient(tokens), wire]);
    const conn = await client.request(ctx, requestAt(0, ['nsc-1']));
    const [nsc, mgr] = conn.path!.path_segments;
    expect(nsc!.token).toBe(sent);
    const clientClaims = verifyJwt(nsc!.token, tokens.publicKey);
    expect(clientClaims.sub).toBe('nsc-1');
    expect(fromTimestamp(nsc!.expires)).toBe(clientClaims.exp! * 1000);
    // The server's own token is addressed to its caller, who receives it with the reply.
    expect(verifyJwt(mgr!.token, serverTokens.publicKey)).toMatchObject({ sub: 'nsmgr-1', aud: ['nsc-1'] });
  });
});

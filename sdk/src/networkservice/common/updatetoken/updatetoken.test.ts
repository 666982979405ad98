import { generateKeyPairSync } from 'node:crypto';
import { compactVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { fromTimestamp, newRequest } from '../../../api/builders.js';
import type { Connection, NetworkServiceRequest, PathSegment } from '../../../api/types.js';
import { element, toHandler } from '../../../core/chain.js';
import { FakeClock } from '../../../core/clock.js';
import { createContext, withValue } from '../../../core/context.js';
import { Code } from '../../../core/errors.js';
import { kIncomingMetadata, kServedCall } from '../../../grpc/call-metadata.js';
import { decodeJwt } from '../../../security/jwt.js';
import { jwtTokenGenerator } from '../../../security/tokens.js';
import { rejectionOf } from '../../../testing/errors.js';
import { updateTokenServer } from './updatetoken.js';

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

describe('updateTokenServer', () => {
  const tokens = jwtTokenGenerator({ name: 'nsmgr-1' });

  it('copies the caller token into the previous segment and signs its own for the caller', async () => {
    const handler = toHandler([updateTokenServer(tokens)]);
    const incoming = withValue(ctx, kIncomingMetadata, {
      'nsm-client-token': 'caller.jwt.token',
      'nsm-client-token-expires': '2026-01-01T00:10:00Z',
    });
    const conn = await handler.request(incoming, requestAt(1, ['nsc-1', 'nsmgr-1']));
    const [prev, own] = conn.path!.path_segments;
    expect(prev!.token).toBe('caller.jwt.token');
    expect(fromTimestamp(prev!.expires)).toBe(Date.UTC(2026, 0, 1, 0, 10));
    await compactVerify(own!.token, tokens.publicKey);
    const claims = decodeJwt(own!.token).claims;
    // Without mTLS the caller is known by its segment name only.
    expect(claims).toMatchObject({ sub: 'nsmgr-1', aud: ['nsc-1'] });
    expect(fromTimestamp(own!.expires)).toBe(claims.exp! * 1000);
  });

  it("addresses its token to the caller's TLS identity when the call came over mTLS", async () => {
    const handler = toHandler([updateTokenServer(tokens)]);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const served = withValue(ctx, kServedCall, {
      peer: {
        id: 'spiffe://nsm.test/ns/default/pod/web',
        trustDomain: 'nsm.test',
        publicKey,
        certificate: undefined as never,
      },
    });
    const conn = await handler.request(served, requestAt(1, ['web', 'nsmgr-1']));
    expect(decodeJwt(conn.path!.path_segments[1]!.token).claims.aud).toEqual([
      'spiffe://nsm.test/ns/default/pod/web',
    ]);
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
    expect(decodeJwt(first.path!.path_segments[0]!.token).claims.aud).toBeUndefined();
  });

  it('updates tokens on close as well', async () => {
    const seen: Connection[] = [];
    const tail = element({
      close: (c, conn, next) => {
        seen.push(structuredClone(conn));
        return next.close(c, conn);
      },
    });
    const handler = toHandler([updateTokenServer(tokens), tail]);
    const conn = requestAt(1, ['nsc-1', 'nsmgr-1']).connection!;
    await handler.close(
      withValue(ctx, kIncomingMetadata, {
        'nsm-client-token': 'c.l.t',
        'nsm-client-token-expires': '2026-01-01T00:10:00Z',
      }),
      conn,
    );
    expect(seen[0]!.path!.path_segments[0]!.token).toBe('c.l.t');
    expect(seen[0]!.path!.path_segments[1]!.token).not.toBe('');
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

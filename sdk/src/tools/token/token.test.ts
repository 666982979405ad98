import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { createContext } from '../../core/context.js';
import { Code } from '../../core/errors.js';
import { decodeJwt, signJwt, verifyJwt } from './jwt.js';
import { formatRfc3339, parseRfc3339 } from './rfc3339.js';
import { jwtTokenGenerator } from './token.js';
import { errorOf } from '../../testing/errors.js';

describe('jwtTokenGenerator', () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0, 400));
  const ctx = createContext({ clock });

  it('signs ES256 tokens that verify, with sub, aud, iat and exp', () => {
    const tokens = jwtTokenGenerator({ name: 'nsc-1' });
    const { token, expiresAt } = tokens(ctx, { name: 'nsmgr-1' });
    expect(decodeJwt(token).header).toEqual({ alg: 'ES256', typ: 'JWT' });
    const claims = verifyJwt(token, tokens.publicKey, { now: clock.now() });
    const now = Math.floor(clock.now() / 1000);
    expect(claims).toEqual({ sub: 'nsc-1', aud: ['nsmgr-1'], iat: now, exp: now + 600 });
    expect(expiresAt).toBe((now + 600) * 1000);
    // JOSE signatures are r || s: 64 bytes for P-256.
    expect(Buffer.from(token.split('.')[2]!, 'base64url')).toHaveLength(64);
  });

  it('leaves aud out when the peer is unknown and honours the lifetime', () => {
    const tokens = jwtTokenGenerator({ name: 'nse-1', lifetimeMs: 60_000 });
    const { token, expiresAt } = tokens(ctx);
    const claims = verifyJwt(token, tokens.publicKey);
    expect(claims.aud).toBeUndefined();
    expect(expiresAt - clock.now()).toBeLessThanOrEqual(60_000);
    expect(expiresAt - clock.now()).toBeGreaterThan(59_000);
  });

  it('rejects tokens signed by another key, tampered with, malformed or expired', () => {
    const a = jwtTokenGenerator({ name: 'a' });
    const b = jwtTokenGenerator({ name: 'b' });
    const { token, expiresAt } = a(ctx);
    expect(errorOf(() => verifyJwt(token, b.publicKey)).code).toBe(Code.UNAUTHENTICATED);
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin' })).toString('base64url')}.${s}`;
    expect(errorOf(() => verifyJwt(forged, a.publicKey)).message).toContain('signature does not verify');
    expect(errorOf(() => verifyJwt('abc', a.publicKey)).message).toContain('malformed JWT');
    expect(errorOf(() => verifyJwt('a.b.c', a.publicKey)).message).toContain('malformed JWT');
    expect(errorOf(() => verifyJwt(token, a.publicKey, { now: expiresAt })).message).toContain('expired');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${token.split('.')[1]}.`;
    expect(errorOf(() => verifyJwt(none, a.publicKey)).message).toContain('expected ES256');
  });

  it('uses a given P-256 key (PEM or KeyObject) and refuses other keys', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const tokens = jwtTokenGenerator({ name: 'x', privateKey: pem });
    expect(verifyJwt(tokens(ctx).token, publicKey).sub).toBe('x');
    expect(
      verifyJwt(
        signJwt({ sub: 'y' }, privateKey),
        publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      ).sub,
    ).toBe('y');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(errorOf(() => jwtTokenGenerator({ name: 'x', privateKey: rsa })).code).toBe(Code.INVALID_ARGUMENT);
    expect(errorOf(() => jwtTokenGenerator({ name: 'x', lifetimeMs: 0 })).code).toBe(Code.INVALID_ARGUMENT);
  });
});

describe('rfc3339', () => {
  it('formats with second precision and parses offsets', () => {
    expect(formatRfc3339(Date.UTC(2026, 0, 1, 0, 10, 0, 999))).toBe('2026-01-01T00:10:00Z');
    expect(parseRfc3339('2026-01-01T00:10:00Z')).toBe(Date.UTC(2026, 0, 1, 0, 10));
    expect(parseRfc3339('2026-01-01T02:10:00.5+02:00')).toBe(Date.UTC(2026, 0, 1, 0, 10, 0, 500));
    expect(parseRfc3339('tomorrow')).toBeUndefined();
    expect(parseRfc3339('2026-01-01')).toBeUndefined();
    expect(parseRfc3339(undefined)).toBeUndefined();
  });
});

describe('jwtTokenGenerator reuse', () => {
  it('signs once per second and audience, since the claims are the same', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0, 100));
    const ctx = createContext({ clock });
    const tokens = jwtTokenGenerator({ name: 'nsc', lifetimeMs: 60_000 });
    const a = tokens(ctx, { name: 'nsmgr' });
    expect(tokens(ctx, { name: 'nsmgr' }).token).toBe(a.token);
    expect(tokens(ctx, { name: 'other' }).token).not.toBe(a.token);
    await clock.advance(1000);
    const b = tokens(ctx, { name: 'nsmgr' });
    expect(b.token).not.toBe(a.token);
    expect(b.expiresAt).toBe(a.expiresAt + 1000);
    expect(verifyJwt(b.token, tokens.publicKey).aud).toEqual(['nsmgr']);
  });
});

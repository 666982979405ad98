import { generateKeyPairSync } from 'node:crypto';
import { compactVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { createContext } from '../core/context.js';
import { Code } from '../core/errors.js';
import { errorOf } from '../testing/errors.js';
import { decodeJwt } from './jwt.js';
import { jwtTokenGenerator } from './tokens.js';
import { TokenVerifier } from './verify.js';

describe('jwtTokenGenerator (no identity)', () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0, 400));
  const ctx = createContext({ clock });

  it('signs ES256 tokens with sub, aud, iat and exp that verify with its public key', async () => {
    const tokens = jwtTokenGenerator({ name: 'nsc-1' });
    const { token, expiresAt } = await tokens(ctx, { id: 'nsmgr-1' });
    expect(decodeJwt(token).header).toEqual({ alg: 'ES256', typ: 'JWT' });
    await compactVerify(token, tokens.publicKey);
    const now = Math.floor(clock.now() / 1000);
    expect(decodeJwt(token).claims).toEqual({ sub: 'nsc-1', aud: ['nsmgr-1'], iat: now, exp: now + 600 });
    expect(expiresAt).toBe((now + 600) * 1000);
    // JOSE signatures are r || s: 64 bytes for P-256.
    expect(Buffer.from(token.split('.')[2]!, 'base64url')).toHaveLength(64);
  });

  it('leaves aud out when the peer is unknown and honours the lifetime', async () => {
    const tokens = jwtTokenGenerator({ name: 'nse-1', lifetimeMs: 60_000 });
    const { token, expiresAt } = await tokens(ctx);
    expect(decodeJwt(token).claims.aud).toBeUndefined();
    expect(expiresAt - clock.now()).toBeLessThanOrEqual(60_000);
    expect(expiresAt - clock.now()).toBeGreaterThan(59_000);
  });

  it('signs once per second and audience, since the claims are the same', async () => {
    const fake = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0, 100));
    const c = createContext({ clock: fake });
    const tokens = jwtTokenGenerator({ name: 'nsc', lifetimeMs: 60_000 });
    const a = await tokens(c, { id: 'nsmgr' });
    expect((await tokens(c, { id: 'nsmgr' })).token).toBe(a.token);
    expect((await tokens(c, { id: 'other' })).token).not.toBe(a.token);
    await fake.advance(1000);
    const b = await tokens(c, { id: 'nsmgr' });
    expect(b.token).not.toBe(a.token);
    expect(b.expiresAt).toBe(a.expiresAt + 1000);
  });

  it('uses a given P-256 key and refuses other keys and lifetimes', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const tokens = jwtTokenGenerator({ name: 'x', privateKey: pem });
    await compactVerify((await tokens(ctx)).token, publicKey);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(errorOf(() => jwtTokenGenerator({ name: 'x', privateKey: rsa })).code).toBe(Code.INVALID_ARGUMENT);
    expect(errorOf(() => jwtTokenGenerator({ name: 'x', lifetimeMs: 0 })).code).toBe(Code.INVALID_ARGUMENT);
  });
});

describe('TokenVerifier without x5c', () => {
  const ctx = createContext();
  const verifier = new TokenVerifier(() => []);

  it('verifies with a given key, and refuses a token signed by another key, tampered, malformed or not ES256', async () => {
    const a = jwtTokenGenerator({ name: 'a' });
    const b = jwtTokenGenerator({ name: 'b' });
    const { token } = await a(ctx);
    expect((await verifier.verify(token, Date.now(), a.publicKey)).claims.sub).toBe('a');
    await expect(verifier.verify(token, Date.now(), b.publicKey)).rejects.toThrow(
      /does not verify with the key/,
    );
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin' })).toString('base64url')}.${s}`;
    await expect(verifier.verify(forged, Date.now(), a.publicKey)).rejects.toThrow(/does not verify/);
    await expect(verifier.verify('abc', Date.now())).rejects.toThrow(/malformed JWT/);
    await expect(verifier.verify('', Date.now())).rejects.toThrow(/the token is empty/);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${token.split('.')[1]}.`;
    await expect(verifier.verify(none, Date.now())).rejects.toThrow(/expected ES256/);
    // without a key, a token must carry the certificate chain that vouches for it
    await expect(verifier.verify(token, Date.now())).rejects.toThrow(/no x5c certificate chain/);
  });
});

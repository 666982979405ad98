/**
 * Path tokens: every hop signs a token for its path segment. A generator is a plain function so tests
 * and daemons can swap in their own (SPIFFE, fixed, failing).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Context } from '../../core/context.js';
import { invalidArgument } from '../../core/errors.js';
import { signJwt, type JwtClaims } from './jwt.js';

/** The party a token is for, when known. */
export interface TokenPeer {
  name: string;
}

/** A signed token and when it expires (ms since the epoch, on `ctx.clock`). */
export interface Token {
  token: string;
  expiresAt: number;
}

/** Makes the token a hop puts in its segment. Usage: `const { token, expiresAt } = tokens(ctx, { name: 'nsmgr-1' })`. */
export type TokenGenerator = (ctx: Context, peer?: TokenPeer) => Token;

/** A JWT generator, with the public key that verifies its tokens. */
export interface JwtTokenGenerator extends TokenGenerator {
  readonly publicKey: KeyObject;
}

/** NSM_MAX_TOKEN_LIFETIME default. */
export const DEFAULT_TOKEN_LIFETIME_MS = 10 * 60_000;

function p256(key: KeyObject | string | undefined): KeyObject {
  if (key === undefined) return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const k = typeof key === 'string' ? createPrivateKey(key) : key;
  if (
    k.type !== 'private' ||
    k.asymmetricKeyType !== 'ec' ||
    k.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw invalidArgument('jwtTokenGenerator privateKey must be an EC P-256 private key (ES256)');
  }
  return k;
}

/**
 * ES256 JWTs: `sub` = own name, `aud` = [peer name] when known (an array, as upstream NSM's policies read
 * it), `iat`, `exp` = now + lifetime. Without `privateKey` a fresh P-256 key is made. `expiresAt` equals
 * `exp` exactly so segment expiry and token expiry agree.
 * Usage: `jwtTokenGenerator({ name: 'nsc-1', lifetimeMs: 10 * 60_000 })`.
 */
export function jwtTokenGenerator(options: {
  name: string;
  lifetimeMs?: number;
  privateKey?: KeyObject | string;
}): JwtTokenGenerator {
  const lifetime = options.lifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS;
  if (!(lifetime >= 1000))
    throw invalidArgument(`token lifetime ${lifetime} ms is too short: expected at least 1000 ms`);
  const privateKey = p256(options.privateKey);
  // Claims have one-second resolution: within a second the same audience gets the same claims, so the
  // signature (the costliest step of a request) is reused rather than recomputed.
  let second = -1;
  const signed = new Map<string, Token>();
  const generate = (ctx: Context, peer?: TokenPeer): Token => {
    const now = ctx.clock.now();
    const iat = Math.floor(now / 1000);
    const exp = Math.floor((now + lifetime) / 1000);
    if (iat !== second) {
      second = iat;
      signed.clear();
    }
    const key = `${exp}\0${peer?.name ?? ''}`;
    const known = signed.get(key);
    if (known) return known;
    const claims: JwtClaims = { sub: options.name, iat, exp };
    if (peer?.name) claims.aud = [peer.name];
    const token = { token: signJwt(claims, privateKey), expiresAt: exp * 1000 };
    signed.set(key, token);
    return token;
  };
  return Object.assign(generate, { publicKey: createPublicKey(privateKey) });
}

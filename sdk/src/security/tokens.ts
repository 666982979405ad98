/**
 * Path tokens: every hop signs an ES256 JWT for its path segment and for each call it makes (gRPC
 * metadata `nsm-client-token`), in upstream NSM's shape: `sub` = its own SPIFFE ID, `aud` = the peer's,
 * `exp` = the segment's expiry. With an identity, the header carries the certificate chain (`x5c`), so any
 * hop holding the trust bundle can verify any segment.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject, createPublicKey } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Context } from '../core/context.js';
import { invalidArgument } from '../core/errors.js';
import type { Identity } from './identity.js';

/** The party a token is for: its SPIFFE ID (or, without identities, its name). */
export interface TokenPeer {
  id: string;
}

/** A signed token and when it expires (ms since the epoch, on `ctx.clock`). */
export interface Token {
  token: string;
  expiresAt: number;
}

/** Makes the token a hop puts in its segment or sends with a call. Usage: `await tokens(ctx, { id: peerId })`. */
export type TokenGenerator = (ctx: Context, peer?: TokenPeer) => Promise<Token>;

/** A JWT generator with its own key, and the public key that verifies its tokens. */
export interface JwtTokenGenerator extends TokenGenerator {
  readonly publicKey: KeyObject;
}

/** NSM_MAX_TOKEN_LIFETIME default. */
export const DEFAULT_TOKEN_LIFETIME_MS = 10 * 60_000;

/** What a token is signed with. */
interface Signer {
  sub: string;
  privateKey: KeyObject;
  /** Base64 DER certificates for the `x5c` header, leaf first. */
  x5c?: string[];
  /** No token outlives the certificate that vouches for it (ms). */
  notAfter?: number;
}

function checkLifetime(lifetime: number): void {
  if (!(lifetime >= 1000))
    throw invalidArgument(`token lifetime ${lifetime} ms is too short: expected at least 1000 ms`);
}

/**
 * Claims have one-second resolution: within a second the same signer and audience get the same claims,
 * so the signature (the costliest step of a call) is reused rather than recomputed.
 */
function signingGenerator(signer: () => Signer, lifetime: number): TokenGenerator {
  let second = -1;
  let lastSigner: Signer | undefined;
  const signed = new Map<string, Promise<Token>>();
  return (ctx, peer) => {
    const now = ctx.clock.now();
    const current = signer();
    const iat = Math.floor(now / 1000);
    const exp = Math.floor(Math.min(now + lifetime, current.notAfter ?? Infinity) / 1000);
    if (iat !== second || current !== lastSigner) {
      second = iat;
      lastSigner = current;
      signed.clear();
    }
    const key = `${exp}\0${peer?.id ?? ''}`;
    const known = signed.get(key);
    if (known) return known;
    const claims: Record<string, unknown> = { sub: current.sub, iat, exp };
    if (peer?.id) claims['aud'] = [peer.id];
    const header = current.x5c
      ? { alg: 'ES256', typ: 'JWT', x5c: current.x5c }
      : { alg: 'ES256', typ: 'JWT' };
    const token = new SignJWT(claims)
      .setProtectedHeader(header)
      .sign(current.privateKey)
      .then((jwt) => ({ token: jwt, expiresAt: exp * 1000 }));
    signed.set(key, token);
    token.catch(() => signed.delete(key));
    return token;
  };
}

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
 * Tokens signed with the hop's X.509-SVID: `sub` = its SPIFFE ID, `x5c` = its certificate chain, `exp`
 * no later than the certificate's. Follows rotations of `identity`.
 * Usage: `identityTokenGenerator({ identity, lifetimeMs: config.maxTokenLifetimeMs })`.
 */
export function identityTokenGenerator(options: { identity: Identity; lifetimeMs?: number }): TokenGenerator {
  const lifetime = options.lifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS;
  checkLifetime(lifetime);
  let svid = options.identity.svid();
  let signer: Signer | undefined;
  return signingGenerator(() => {
    const current = options.identity.svid();
    if (!signer || current !== svid) {
      svid = current;
      signer = {
        sub: current.id.id,
        privateKey: current.privateKey,
        x5c: current.chain.map((c) => c.raw.toString('base64')),
        notAfter: current.notAfter,
      };
    }
    return signer;
  }, lifetime);
}

/**
 * Tokens without an identity (insecure mode, tests): `sub` = `name`, signed by `privateKey` or a fresh
 * P-256 key; nobody else can verify them. Usage: `jwtTokenGenerator({ name: 'nsc-1' })`.
 */
export function jwtTokenGenerator(options: {
  name: string;
  lifetimeMs?: number;
  privateKey?: KeyObject | string;
}): JwtTokenGenerator {
  const lifetime = options.lifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS;
  checkLifetime(lifetime);
  const signer: Signer = { sub: options.name, privateKey: p256(options.privateKey) };
  return Object.assign(
    signingGenerator(() => signer, lifetime),
    { publicKey: createPublicKey(signer.privateKey) },
  );
}

/**
 * Minimal ES256 JSON Web Tokens on node:crypto: enough to sign per-hop path tokens and check them, with no
 * JOSE library. ECDSA signatures use the JOSE form (r || s, 64 bytes), hence `dsaEncoding: 'ieee-p1363'`.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { Code, NsmError } from '../../core/errors.js';

/** The registered claims NSM uses; others pass through. Times are seconds since the epoch. */
export interface JwtClaims {
  sub?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  [claim: string]: unknown;
}

const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');

/** Signs `claims` with a P-256 private key. Usage: `signJwt({ sub: 'nsc-1', exp }, privateKey)`. */
export function signJwt(claims: JwtClaims, privateKey: KeyObject): string {
  const body = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(body), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${body}.${signature.toString('base64url')}`;
}

function parsePart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NsmError(Code.UNAUTHENTICATED, `malformed JWT: the ${what} is not a base64url JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Header and claims of a token, without checking the signature (for inspection and policies that verify
 * separately). Throws UNAUTHENTICATED for a malformed token. Usage: `decodeJwt(token).claims.sub`.
 */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: JwtClaims } {
  const parts = token.split('.');
  if (parts.length !== 3)
    throw new NsmError(Code.UNAUTHENTICATED, 'malformed JWT: expected header.claims.signature');
  return { header: parsePart(parts[0]!, 'header'), claims: parsePart(parts[1]!, 'claims') };
}

/**
 * Checks an ES256 token's signature against `publicKey` (KeyObject or PEM) and, when `now` (ms) is given,
 * its expiry; returns the claims. Throws UNAUTHENTICATED otherwise. Usage: `verifyJwt(token, publicKey)`.
 */
export function verifyJwt(
  token: string,
  publicKey: KeyObject | string,
  options: { now?: number } = {},
): JwtClaims {
  const { header: head, claims } = decodeJwt(token);
  if (head['alg'] !== 'ES256') {
    throw new NsmError(
      Code.UNAUTHENTICATED,
      `JWT algorithm ${String(head['alg'])} is not accepted: expected ES256`,
    );
  }
  const [h, c, s] = token.split('.') as [string, string, string];
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const ok = verify(
    'sha256',
    Buffer.from(`${h}.${c}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'),
  );
  if (!ok) throw new NsmError(Code.UNAUTHENTICATED, 'JWT signature does not verify with the given key');
  if (options.now !== undefined && (typeof claims.exp !== 'number' || claims.exp * 1000 <= options.now)) {
    throw new NsmError(Code.UNAUTHENTICATED, 'JWT has expired or carries no exp claim');
  }
  return claims;
}

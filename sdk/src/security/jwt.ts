/** JWT inspection on jose: header and claims of a token, without checking its signature. */
import {
  decodeJwt as joseDecodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import { Code, NsmError } from '../core/errors.js';

/** The registered claims NSM uses; others pass through. Times are seconds since the epoch. */
export type JwtClaims = JWTPayload;

/** A token's header and claims. */
export interface DecodedJwt {
  header: ProtectedHeaderParameters;
  claims: JwtClaims;
}

/** Recently decoded tokens: every policy reads the same few tokens of a path. */
const decoded = new Map<string, DecodedJwt>();

/**
 * Header and claims of `token`, unverified (for inspection and for the policies, which verify
 * separately). Throws UNAUTHENTICATED for a malformed token. The result is shared: do not change it.
 * Usage: `decodeJwt(token).claims.sub`.
 */
export function decodeJwt(token: string): DecodedJwt {
  const known = decoded.get(token);
  if (known) return known;
  try {
    const result = { header: decodeProtectedHeader(token), claims: joseDecodeJwt(token) };
    if (decoded.size >= 2048) decoded.delete(decoded.keys().next().value!);
    decoded.set(token, result);
    return result;
  } catch (err) {
    throw new NsmError(
      Code.UNAUTHENTICATED,
      `malformed JWT: ${(err as Error).message}: expected header.claims.signature`,
    );
  }
}

/** The audiences of a token as a list (`aud` may be one string or several). */
export function audiences(claims: JwtClaims): string[] {
  const aud = claims.aud;
  if (aud === undefined) return [];
  return Array.isArray(aud) ? aud : [aud];
}

/** The `sub` claim of `token` (unverified), or undefined when it has none or is no JWT. */
export function tokenSubject(token: string | undefined): string | undefined {
  if (!token) return undefined;
  try {
    const sub = decodeJwt(token).claims.sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Authorization policies, with upstream NSM's names and meaning, checked by every server hop on the
 * left side of the path (the segments up to and including its own):
 * - `tokens_valid`: every segment's token verifies (x5c chain to the trust bundle, or the peer's key);
 * - `tokens_expired`: no token's `exp` has passed;
 * - `tokens_chained`: the `aud` of each segment's token names the `sub` of the next one;
 * - `prev_token_signed`: the previous segment's token was signed by the peer of this call (TLS), with
 *   the key of the certificate its connection presented or of a later certificate of the same identity.
 * Each answers the reason it refuses, or undefined.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { Code, NsmError } from '../core/errors.js';
import { audiences, decodeJwt, tokenSubject } from './jwt.js';
import type { TokenVerifier } from './verify.js';
import { validity } from './x509.js';

/** One segment of a path as the policies see it. */
export interface PolicySegment {
  name: string;
  token: string;
}

/** The peer of the current call, from its TLS certificate. */
export interface CallPeer {
  /** Its SPIFFE ID. */
  id: string;
  publicKey: KeyObject;
  /** Its certificate: a token signed by a later certificate of the same identity is a rotation. */
  certificate?: X509Certificate;
}

/** What a policy looks at. */
export interface PolicyInput {
  /** The segments up to and including this hop's (the left side of the path). */
  segments: readonly PolicySegment[];
  /** This hop's position: the last of `segments`. */
  index: number;
  /** The TLS peer, when the call came over mTLS. */
  peer?: CallPeer;
  /** Now, in ms since the epoch. */
  now: number;
  verifier: TokenVerifier;
}

/** A named policy. */
export interface Policy {
  readonly name: string;
  check(input: PolicyInput): Promise<string | undefined>;
}

function where(input: PolicyInput, i: number): string {
  const name = input.segments[i]?.name;
  return `path segment ${i}${name ? ` (${name})` : ''}`;
}

/** Every token verifies. */
export const tokensValid: Policy = {
  name: 'tokens_valid',
  async check(input) {
    for (let i = 0; i < input.segments.length; i++) {
      const token = input.segments[i]!.token;
      // The caller's own token is vouched for by its TLS key (prev_token_signed); it may carry no x5c.
      const key = i === input.index - 1 && input.peer && !hasX5c(token) ? input.peer.publicKey : undefined;
      try {
        await input.verifier.verify(token, input.now, key);
      } catch (err) {
        return `the token of ${where(input, i)} does not verify: ${(err as Error).message}`;
      }
    }
    return undefined;
  },
};

function hasX5c(token: string): boolean {
  try {
    return decodeJwt(token).header.x5c !== undefined;
  } catch {
    return false;
  }
}

function expiredReason(input: PolicyInput): string | undefined {
  for (let i = 0; i < input.segments.length; i++) {
    let exp: unknown;
    try {
      exp = decodeJwt(input.segments[i]!.token).claims.exp;
    } catch (err) {
      return `the token of ${where(input, i)} is unreadable: ${(err as Error).message}`;
    }
    if (typeof exp !== 'number') return `the token of ${where(input, i)} has no exp claim`;
    if (!(input.now < exp * 1000))
      return `the token of ${where(input, i)} expired at ${new Date(exp * 1000).toISOString()}`;
  }
  return undefined;
}

/** No token has expired (its JWT `exp`, whatever the segment's `expires` says). */
export const tokensExpired: Policy = {
  name: 'tokens_expired',
  check: (input) => Promise.resolve(expiredReason(input)),
};

function unchainedReason(input: PolicyInput): string | undefined {
  for (let i = 0; i + 1 < input.segments.length; i++) {
    let aud: string[];
    try {
      aud = audiences(decodeJwt(input.segments[i]!.token).claims);
    } catch (err) {
      return `the token of ${where(input, i)} is unreadable: ${(err as Error).message}`;
    }
    const next = tokenSubject(input.segments[i + 1]!.token);
    if (next === undefined || !aud.includes(next)) {
      return (
        `the token of ${where(input, i)} is for ${aud.length ? aud.join(', ') : 'no audience'}, ` +
        `not for ${next ?? 'the unreadable token'} of ${where(input, i + 1)}`
      );
    }
  }
  return undefined;
}

/** Each token is addressed to the hop after it. */
export const tokensChained: Policy = {
  name: 'tokens_chained',
  check: (input) => Promise.resolve(unchainedReason(input)),
};

/**
 * Whether `token` was signed by a certificate of the peer's identity issued after the one its TLS
 * connection presented: the peer rotated its identity while the connection stayed open, and signs
 * with its new key. An older certificate of the same identity (a captured token replayed over a newer
 * connection) does not count.
 */
async function rotatedSigner(input: PolicyInput, peer: CallPeer, token: string): Promise<boolean> {
  if (!peer.certificate || !hasX5c(token)) return false;
  try {
    const verified = await input.verifier.verify(token, input.now);
    const connectedSince = validity(peer.certificate).notBefore;
    return verified.signer === peer.id && (verified.signerSince ?? -Infinity) > connectedSince;
  } catch {
    return false;
  }
}

/** The previous segment's token was signed by the peer this call comes from. */
export const prevTokenSigned: Policy = {
  name: 'prev_token_signed',
  async check(input) {
    if (input.index < 1) return undefined;
    const peer = input.peer;
    if (!peer) return 'the call carries no TLS peer certificate to check the previous token against';
    const token = input.segments[input.index - 1]?.token ?? '';
    try {
      await input.verifier.verify(token, input.now, peer.publicKey);
    } catch (err) {
      if (!(await rotatedSigner(input, peer, token)))
        return `the token of ${where(input, input.index - 1)} is not signed by the peer ${peer.id}: ${(err as Error).message}`;
    }
    const sub = tokenSubject(token);
    if (sub !== peer.id)
      return `the token of ${where(input, input.index - 1)} names ${sub ?? 'nobody'}, but the peer is ${peer.id}`;
    return undefined;
  },
};

/** The policies every server hop checks. */
export const SERVER_POLICIES: readonly Policy[] = [
  tokensValid,
  tokensExpired,
  tokensChained,
  prevTokenSigned,
];

/** A call refused by a policy of this process: PERMISSION_DENIED, with the policy's name for metrics. */
export class PolicyRefusal extends NsmError {
  constructor(
    readonly policy: string,
    reason: string,
  ) {
    super(Code.PERMISSION_DENIED, `${policy}: ${reason}`);
  }
}

/** PERMISSION_DENIED naming the policy and the reason. */
export function permissionDenied(policy: string, reason: string): NsmError {
  return new PolicyRefusal(policy, reason);
}

/** Runs `policies` in order; the first refusal throws PERMISSION_DENIED naming it. Usage: `await enforce(SERVER_POLICIES, input)`. */
export async function enforce(policies: readonly Policy[], input: PolicyInput): Promise<void> {
  for (const policy of policies) {
    const reason = await policy.check(input);
    if (reason !== undefined) throw permissionDenied(policy.name, reason);
  }
}

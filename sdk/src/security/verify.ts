/**
 * Token verification (jose): a token verifies when its ES256 signature checks with the key of the
 * certificate in its `x5c` header, that chain leads to the trust bundle, and `sub` is that certificate's
 * SPIFFE ID; or, for a token from the peer of this very call, with the peer's TLS key. Results are cached
 * by token, since every refresh presents the tokens of the hops before it again.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { Code, NsmError } from '../core/errors.js';
import { decodeJwt, type JwtClaims } from './jwt.js';
import { verifySvidChain } from './x509.js';
import { validity } from './x509.js';

/** A verified token: its claims and who signed it. */
export interface VerifiedToken {
  claims: JwtClaims;
  /** The SPIFFE ID of the certificate that signed it (from `x5c`), when verified that way. */
  signer?: string;
  /** The NotBefore (ms) of that certificate: which of two certificates of one identity is the later one. */
  signerSince?: number;
}

function fail(message: string): never {
  throw new NsmError(Code.UNAUTHENTICATED, message);
}

function chainOf(x5c: unknown): X509Certificate[] {
  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((c) => typeof c === 'string'))
    fail('the JWT header has no x5c certificate chain to verify it with');
  return x5c.map((der, i) => {
    try {
      return new X509Certificate(Buffer.from(der, 'base64'));
    } catch {
      return fail(`x5c certificate ${i + 1} of the JWT header is not a DER certificate`);
    }
  });
}

/** Verifies tokens against a trust bundle. Usage: `await new TokenVerifier(() => identity.bundle()).verify(t, now)`. */
export class TokenVerifier {
  private readonly cache = new Map<string, { result: VerifiedToken; until: number }>();
  /** A short stable name per key object, for the cache (exporting the key on every call costs). */
  private readonly keyIds = new WeakMap<KeyObject, string>();
  private nextKeyId = 0;

  constructor(
    private readonly bundle: () => readonly X509Certificate[],
    private readonly cacheSize = 4096,
  ) {}

  private keyId(key: KeyObject): string {
    let id = this.keyIds.get(key);
    if (id === undefined) this.keyIds.set(key, (id = `k${this.nextKeyId++}`));
    return id;
  }

  /**
   * Verifies `token` at `now` (ms): with `key` (a TLS peer's public key) when given, else through its
   * `x5c` chain. Expiry is not judged here (that is the `tokens_expired` policy). Throws UNAUTHENTICATED
   * with the reason.
   */
  async verify(token: string, now: number, key?: KeyObject): Promise<VerifiedToken> {
    const cacheKey = key ? `${this.keyId(key)}\0${token}` : token;
    const hit = this.cache.get(cacheKey);
    if (hit && now <= hit.until) return hit.result;
    if (token === '') fail('the token is empty');
    const { claims } = decodeJwt(token);
    const header = decodeProtectedHeader(token);
    if (header.alg !== 'ES256') fail(`JWT algorithm ${String(header.alg)} is not accepted: expected ES256`);
    let result: VerifiedToken;
    let until: number;
    if (key) {
      await compactVerify(token, key, { algorithms: ['ES256'] }).catch(() =>
        fail('the JWT signature does not verify with the key of the peer certificate'),
      );
      result = { claims };
      until = Infinity;
    } else {
      const chain = chainOf(header.x5c);
      const signer = verifySvidChain(chain, this.bundle(), now);
      if (claims.sub !== signer.id)
        fail(
          `the JWT sub "${String(claims.sub)}" is not the SPIFFE ID of its x5c certificate (${signer.id})`,
        );
      await compactVerify(token, chain[0]!.publicKey, { algorithms: ['ES256'] }).catch(() =>
        fail(`the JWT signature does not verify with the x5c certificate of ${signer.id}`),
      );
      const leaf = validity(chain[0]!);
      result = { claims, signer: signer.id, signerSince: leaf.notBefore };
      until = leaf.notAfter;
    }
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(cacheKey, { result, until });
    return result;
  }
}

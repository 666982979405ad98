/**
 * X.509 for the mesh's identities, on node:crypto: PEM bundles, and checking that an SVID chain leads
 * to a certificate of the trust bundle (signatures, issuers, validity, CA flags).
 */
import { X509Certificate } from 'node:crypto';
import { Code, NsmError, invalidArgument } from '../core/errors.js';
import { spiffeIdOfCertificate, type SpiffeId } from './spiffe.js';

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The certificates of a PEM text, in order. INVALID_ARGUMENT names `what` (a file, say) when it holds none
 * or a malformed one. Usage: `parsePemCertificates(readFileSync(f, 'utf8'), f)`.
 */
export function parsePemCertificates(pem: string, what: string): X509Certificate[] {
  const blocks = pem.match(pemBlock) ?? [];
  if (blocks.length === 0)
    throw invalidArgument(`${what} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw invalidArgument(`${what}: certificate ${i + 1} is malformed: ${(err as Error).message}`);
    }
  });
}

/** Validity of a certificate in ms since the epoch. */
export function validity(cert: X509Certificate): { notBefore: number; notAfter: number } {
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
}

function describe(cert: X509Certificate): string {
  try {
    return spiffeIdOfCertificate(cert).id;
  } catch {
    return cert.subject.replace(/\n/g, ', ') || `serial ${cert.serialNumber}`;
  }
}

function checkTime(cert: X509Certificate, now: number): void {
  const { notBefore, notAfter } = validity(cert);
  if (now < notBefore)
    throw unauthenticated(`certificate ${describe(cert)} is not valid before ${cert.validFrom}`);
  if (now > notAfter) throw unauthenticated(`certificate ${describe(cert)} expired at ${cert.validTo}`);
}

function unauthenticated(message: string): NsmError {
  return new NsmError(Code.UNAUTHENTICATED, message);
}

/**
 * Checks that `chain` (leaf first, then intermediates) is an X.509-SVID issued under `bundle` and valid
 * at `now`; returns the leaf's SPIFFE ID. Throws UNAUTHENTICATED saying which certificate fails and why.
 * Usage: `verifySvidChain(parsePemCertificates(pem, 'x5c'), bundle, Date.now())`.
 */
export function verifySvidChain(
  chain: readonly X509Certificate[],
  bundle: readonly X509Certificate[],
  now: number,
): SpiffeId {
  const leaf = chain[0];
  if (!leaf) throw unauthenticated('empty certificate chain');
  if (leaf.ca) throw unauthenticated(`certificate ${describe(leaf)} is a CA: an SVID must be a leaf`);
  let id: SpiffeId;
  try {
    id = spiffeIdOfCertificate(leaf);
  } catch (err) {
    throw unauthenticated((err as Error).message);
  }
  let current = leaf;
  for (let depth = 0; depth < 8; depth++) {
    checkTime(current, now);
    const root = bundle.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (root) {
      checkTime(root, now);
      return id;
    }
    const next = chain
      .slice(1)
      .find((c) => c !== current && current.checkIssued(c) && current.verify(c.publicKey));
    if (!next)
      throw unauthenticated(
        `certificate ${describe(current)} is not signed by the trust bundle or the chain`,
      );
    if (!next.ca) throw unauthenticated(`certificate ${describe(next)} signs others but is not a CA`);
    current = next;
  }
  throw unauthenticated(`certificate chain of ${id.id} is longer than 8`);
}

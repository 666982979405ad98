/**
 * SPIFFE IDs (`spiffe://<trust-domain>/<path>`): the names of every mesh component and workload, carried
 * as the URI SAN of its X.509 certificate and as `sub` / `aud` of its tokens.
 */
import type { X509Certificate } from 'node:crypto';
import { invalidArgument } from '../core/errors.js';

/** A parsed SPIFFE ID. */
export interface SpiffeId {
  /** The whole ID, `spiffe://nsm.local/nsmgr/node-1`. */
  readonly id: string;
  readonly trustDomain: string;
  /** The path, `/nsmgr/node-1` ('' for the trust domain itself). */
  readonly path: string;
}

const trustDomainPattern = /^[a-z0-9._-]+$/;
const segmentPattern = /^[A-Za-z0-9._-]+$/;

/** Why `text` is not a SPIFFE ID, or undefined when it is one. Usage: `spiffeIdProblem('spiffe://a/b')`. */
export function spiffeIdProblem(text: string): string | undefined {
  const expected = 'expected spiffe://<trust-domain>/<path>';
  if (!text.startsWith('spiffe://')) return `"${text}" is not a SPIFFE ID: ${expected}`;
  if (text.length > 2048) return `SPIFFE ID of ${text.length} characters is too long: at most 2048`;
  const rest = text.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const domain = slash < 0 ? rest : rest.slice(0, slash);
  if (!trustDomainPattern.test(domain))
    return `"${text}" has a bad trust domain "${domain}": expected lower-case letters, digits, ".", "-" and "_"`;
  if (slash < 0) return undefined;
  const segments = rest.slice(slash + 1).split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || !segmentPattern.test(segment))
      return `"${text}" has a bad path segment "${segment}": expected non-empty segments of letters, digits, ".", "-" and "_"`;
  }
  return undefined;
}

/** Parses a SPIFFE ID; INVALID_ARGUMENT names what is wrong. Usage: `parseSpiffeId('spiffe://nsm.local/registry')`. */
export function parseSpiffeId(text: string): SpiffeId {
  const problem = spiffeIdProblem(text);
  if (problem) throw invalidArgument(problem);
  const rest = text.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  return slash < 0
    ? { id: text, trustDomain: rest, path: '' }
    : { id: text, trustDomain: rest.slice(0, slash), path: rest.slice(slash) };
}

/** `spiffe://<trustDomain>/<segments...>`. Usage: `spiffeId('nsm.local', 'nsmgr', 'node-1')`. */
export function spiffeId(trustDomain: string, ...segments: string[]): string {
  return parseSpiffeId(`spiffe://${trustDomain}${segments.map((s) => `/${s}`).join('')}`).id;
}

/**
 * The SPIFFE ID of a certificate: its one `spiffe://` URI SAN. Throws INVALID_ARGUMENT when it has none,
 * several, or a malformed one (an X.509-SVID carries exactly one). Usage: `spiffeIdOfCertificate(cert)`.
 */
export function spiffeIdOfCertificate(cert: X509Certificate): SpiffeId {
  const uris = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice('URI:'.length).replace(/^"(.*)"$/, '$1'));
  const ids = uris.filter((uri) => uri.startsWith('spiffe://'));
  if (ids.length !== 1) {
    throw invalidArgument(
      `certificate "${cert.subject.replace(/\n/g, ', ') || cert.serialNumber}" has ${ids.length} SPIFFE URI SANs: ` +
        'expected exactly one spiffe:// URI',
    );
  }
  return parseSpiffeId(ids[0]!);
}

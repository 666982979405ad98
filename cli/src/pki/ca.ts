/**
 * The mesh CA: a P-256 certificate authority for one SPIFFE trust domain that issues X.509-SVIDs (URI SAN =
 * the SPIFFE ID) to components and workloads. Certificates are built with @peculiar/x509 on Node's
 * WebCrypto (its default provider, `globalThis.crypto`); nothing here encodes ASN.1 by hand.
 */
import 'reflect-metadata';
import {
  KeyObject,
  X509Certificate,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { invalidArgument } from '@nsm-ts/sdk/core';
import { parseSpiffeId, spiffeIdOfCertificate } from '@nsm-ts/sdk/security';

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** Issued certificates start a little in the past, so that clocks a few seconds apart agree. */
export const BACKDATE_MS = 60_000;

/** A CA able to issue: its certificate and key. */
export interface MeshCa {
  readonly trustDomain: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly certificate: X509Certificate;
}

/** An issued X.509-SVID. */
export interface IssuedSvid {
  readonly id: string;
  /** The leaf certificate (the CA is the trust bundle, not part of the chain). */
  readonly chainPem: string;
  readonly keyPem: string;
  readonly notAfter: number;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive
  return bytes.toString('hex');
}

function pkcs8Pem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

async function signingKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
}

/**
 * A new CA for `trustDomain`, valid for `lifetimeMs` (default ten years).
 * Usage: `const ca = await createCa({ trustDomain: 'nsm.local' })`.
 */
export async function createCa(options: {
  trustDomain: string;
  lifetimeMs?: number;
  now?: number;
}): Promise<MeshCa> {
  const td = parseSpiffeId(`spiffe://${options.trustDomain}`).trustDomain;
  const now = options.now ?? Date.now();
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `O=nsm-ts, CN=nsm-ts mesh CA for ${td}`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + (options.lifetimeMs ?? 10 * 365 * 86_400_000)),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${td}` }], false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem');
  return {
    trustDomain: td,
    certPem,
    keyPem: pkcs8Pem(keys.privateKey),
    certificate: new X509Certificate(certPem),
  };
}

/**
 * A CA from its PEM certificate and key (as `nsm up` stored them). INVALID_ARGUMENT says what is wrong.
 * Usage: `caFromPem(readFileSync('ca.pem', 'utf8'), readFileSync('ca_key.pem', 'utf8'))`.
 */
export function caFromPem(certPem: string, keyPem: string, what = 'the mesh CA'): MeshCa {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (err) {
    throw invalidArgument(`${what}: the certificate is malformed: ${(err as Error).message}`);
  }
  if (!certificate.ca) throw invalidArgument(`${what}: the certificate is not a CA`);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw invalidArgument(`${what}: the key is not a PEM private key: ${(err as Error).message}`);
  }
  if (!certificate.checkPrivateKey(key))
    throw invalidArgument(`${what}: the key does not belong to the certificate`);
  const trustDomain = spiffeIdOfCertificate(certificate).trustDomain;
  return { trustDomain, certPem, keyPem, certificate };
}

/** An issued certificate for a key the workload keeps (it sent only its public key). */
export interface IssuedCertificate {
  readonly id: string;
  /** The leaf certificate (the CA is the trust bundle, not part of the chain). */
  readonly chainPem: string;
  readonly notAfter: number;
}

/**
 * The public key of an SPKI PEM ("-----BEGIN PUBLIC KEY-----"), which must be EC P-256 (tokens are
 * ES256). INVALID_ARGUMENT names `what` and the problem. Usage: `await publicKeyFromPem(pem, 'the request')`.
 */
export async function publicKeyFromPem(pem: string, what: string): Promise<webcrypto.CryptoKey> {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw invalidArgument(`${what}: the public key is not a PEM public key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw invalidArgument(
      `${what}: the public key is ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}: expected an EC P-256 key`,
    );
  return webcrypto.subtle.importKey('spki', key.export({ type: 'spki', format: 'der' }), algorithm, true, [
    'verify',
  ]);
}

/**
 * Issues an X.509-SVID certificate for `id` (a SPIFFE ID of the CA's trust domain) and `publicKey`, valid
 * for `lifetimeMs` (never past the CA). Usage: `await issueCertificate(ca, { id, lifetimeMs, publicKey })`.
 */
export async function issueCertificate(
  ca: MeshCa,
  options: {
    id: string;
    lifetimeMs: number;
    publicKey: webcrypto.CryptoKey;
    /** DNS names besides the SPIFFE ID (a server that clients without SPIFFE reach by name). */
    dnsNames?: string[];
    now?: number;
  },
): Promise<IssuedCertificate> {
  const id = parseSpiffeId(options.id);
  if (id.trustDomain !== ca.trustDomain)
    throw invalidArgument(`cannot issue ${id.id}: the CA is for trust domain ${ca.trustDomain}`);
  if (id.path === '') throw invalidArgument(`cannot issue ${id.id}: a workload SPIFFE ID needs a path`);
  if (!(options.lifetimeMs >= 1000))
    throw invalidArgument(
      `certificate lifetime ${options.lifetimeMs} ms is too short: expected at least 1 s`,
    );
  const now = options.now ?? Date.now();
  const notAfter = Math.min(now + options.lifetimeMs, Date.parse(ca.certificate.validTo));
  const issuer = new x509.X509Certificate(ca.certPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'O=nsm-ts',
    issuer: issuer.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(notAfter),
    signingKey: await signingKey(ca.keyPem),
    publicKey: options.publicKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(
        [
          { type: 'url', value: id.id },
          ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
        ],
        false,
      ),
      await x509.AuthorityKeyIdentifierExtension.create(issuer),
    ],
  });
  return { id: id.id, chainPem: cert.toString('pem'), notAfter };
}

/**
 * Issues an X.509-SVID for `id` with a new key, valid for `lifetimeMs`.
 * Usage: `await issueSvid(ca, { id: 'spiffe://nsm.local/nsmgr/node-1', lifetimeMs: 86_400_000 })`.
 */
export async function issueSvid(
  ca: MeshCa,
  options: { id: string; lifetimeMs: number; dnsNames?: string[]; now?: number },
): Promise<IssuedSvid> {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await issueCertificate(ca, { ...options, publicKey: keys.publicKey });
  return { ...cert, keyPem: pkcs8Pem(keys.privateKey) };
}

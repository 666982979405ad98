/**
 * A self-signed TLS server certificate for DNS names (the admission webhook's, when no certificate
 * files are given): the certificate is its own CA, so it is also the caBundle the API server trusts.
 */
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { invalidArgument } from '@nsm-ts/sdk/core';

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A certificate and its key, PEM. */
export interface ServerCert {
  certPem: string;
  keyPem: string;
  notAfter: number;
}

/** Usage: `await selfSignedServerCert({ dnsNames: ['nsm-webhook.nsm-system.svc'], lifetimeMs: 365 * 86_400_000 })`. */
export async function selfSignedServerCert(options: {
  dnsNames: string[];
  lifetimeMs: number;
}): Promise<ServerCert> {
  if (options.dnsNames.length === 0)
    throw invalidArgument('a server certificate needs at least one DNS name');
  const now = Date.now();
  const notAfter = now + options.lifetimeMs;
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=${options.dnsNames[0]}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(notAfter),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        options.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        false,
      ),
    ],
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certPem: cert.toString('pem'), keyPem, notAfter };
}

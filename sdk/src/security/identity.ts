/**
 * Identities: a component's X.509-SVID (key and certificate chain with its SPIFFE ID) and the trust
 * bundle it checks peers against. Sources (files, the SPIFFE Workload API) update an identity in place
 * when certificates rotate; TLS and token signing always take the current one.
 */
import { createPrivateKey, createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { invalidArgument } from '../core/errors.js';
import { parsePemCertificates, validity } from './x509.js';
import { spiffeIdOfCertificate, type SpiffeId } from './spiffe.js';

/** An X.509-SVID: the private key, its certificate chain (leaf first) and the leaf's SPIFFE ID. */
export interface Svid {
  readonly id: SpiffeId;
  readonly chain: readonly X509Certificate[];
  readonly chainPem: string;
  readonly privateKey: KeyObject;
  readonly keyPem: string;
  /** When the leaf certificate expires (ms since the epoch). */
  readonly notAfter: number;
}

/** A component's identity, current at every call (certificates rotate underneath). */
export interface Identity {
  /** The SPIFFE ID, `spiffe://nsm.local/nsmgr/node-1`. */
  readonly id: string;
  readonly trustDomain: string;
  svid(): Svid;
  /** The CA certificates peers' chains must lead to. */
  bundle(): readonly X509Certificate[];
  bundlePem(): string;
  /** Calls `listener` after every rotation; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Stops watching the source. */
  close(): void;
}

/**
 * An SVID from PEM texts: the chain (leaf first) and a PKCS#8 or SEC1 EC P-256 private key that must belong
 * to the leaf. `what` names the source in errors. Usage: `svidFromPem(certPem, keyPem, '/etc/nsm/svid.pem')`.
 */
export function svidFromPem(chainPem: string, keyPem: string, what: string): Svid {
  const chain = parsePemCertificates(chainPem, what);
  const leaf = chain[0]!;
  let id: SpiffeId;
  try {
    id = spiffeIdOfCertificate(leaf);
  } catch (err) {
    throw invalidArgument(`${what}: ${(err as Error).message}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (err) {
    throw invalidArgument(`${what}: the private key is not a PEM private key: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw invalidArgument(`${what}: the private key must be an EC P-256 key (tokens are ES256)`);
  if (spki(privateKey) !== leaf.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'))
    throw invalidArgument(`${what}: the private key does not belong to the certificate of ${id.id}`);
  return { id, chain, chainPem, privateKey, keyPem, notAfter: validity(leaf).notAfter };
}

function spki(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
}

/** An identity that sources update in place. */
export class MutableIdentity implements Identity {
  private current: Svid;
  private trust: readonly X509Certificate[];
  private trustPem: string;
  private readonly listeners = new Set<() => void>();
  private readonly stop: () => void;

  constructor(svid: Svid, bundlePem: string, options: { what?: string; close?: () => void } = {}) {
    this.current = svid;
    this.trustPem = bundlePem;
    this.trust = parsePemCertificates(bundlePem, options.what ?? 'trust bundle');
    this.stop = options.close ?? (() => undefined);
  }

  get id(): string {
    return this.current.id.id;
  }

  get trustDomain(): string {
    return this.current.id.trustDomain;
  }

  svid(): Svid {
    return this.current;
  }

  bundle(): readonly X509Certificate[] {
    return this.trust;
  }

  bundlePem(): string {
    return this.trustPem;
  }

  /** Replaces the SVID and bundle (a rotation) and tells the listeners. */
  update(svid: Svid, bundlePem: string, what = 'trust bundle'): void {
    const trust = parsePemCertificates(bundlePem, what);
    this.current = svid;
    this.trust = trust;
    this.trustPem = bundlePem;
    for (const listener of [...this.listeners]) listener();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }
}

/** An identity that never rotates (tests, short-lived tools). Usage: `staticIdentity(svid, bundlePem)`. */
export function staticIdentity(svid: Svid, bundlePem: string): Identity {
  return new MutableIdentity(svid, bundlePem);
}

/**
 * mTLS for the mesh's gRPC: credentials from an identity (rotations reach new connections through grpc-js
 * certificate providers), the peer's SPIFFE ID checked on both sides, and the peer of a served call.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Identity } from '../security/identity.js';

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaCertificateUpdateListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityCertificateUpdateListener = grpc.experimental.IdentityCertificateUpdateListener;
import { spiffeIdOfCertificate, type SpiffeId } from '../security/spiffe.js';

/** The peer of a call or channel, from its certificate. */
export interface TlsPeer {
  id: string;
  trustDomain: string;
  publicKey: KeyObject;
  certificate: X509Certificate;
}

/** Says why a peer is not the one expected, or undefined when it is. */
export type PeerCheck = (id: SpiffeId) => string | undefined;

/** Peers by certificate fingerprint: a served call asks for its peer every time, the channel has one. */
const known = new Map<string, TlsPeer>();

/** The peer of a PeerCertificate (its DER), or an Error saying why it has no SPIFFE ID. */
export function tlsPeerOf(cert: PeerCertificate | undefined): TlsPeer | Error {
  if (!cert?.raw) return new Error('the peer presented no certificate');
  const cached = cert.fingerprint256 ? known.get(cert.fingerprint256) : undefined;
  if (cached) return cached;
  try {
    const certificate = new X509Certificate(cert.raw);
    const id = spiffeIdOfCertificate(certificate);
    const peer = { id: id.id, trustDomain: id.trustDomain, publicKey: certificate.publicKey, certificate };
    if (cert.fingerprint256) {
      if (known.size >= 1024) known.delete(known.keys().next().value!);
      known.set(cert.fingerprint256, peer);
    }
    return peer;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

const providers = new WeakMap<Identity, CertificateProvider>();

/** A grpc-js certificate provider that serves `identity` and follows its rotations (one per identity). */
function providerOf(identity: Identity): CertificateProvider {
  const known = providers.get(identity);
  if (known) return known;
  const ca = new Set<CaCertificateUpdateListener>();
  const own = new Set<IdentityCertificateUpdateListener>();
  const caUpdate = () => ({ caCertificate: Buffer.from(identity.bundlePem()) });
  const ownUpdate = () => {
    const svid = identity.svid();
    return { certificate: Buffer.from(svid.chainPem), privateKey: Buffer.from(svid.keyPem) };
  };
  identity.onChange(() => {
    for (const l of ca) l(caUpdate());
    for (const l of own) l(ownUpdate());
  });
  // Listeners hear the current certificates on the next microtask, not during add: grpc-js's server
  // registers its watcher only after adding the listener, and would miss a synchronous first update.
  const provider: CertificateProvider = {
    addCaCertificateListener: (l) => {
      ca.add(l);
      queueMicrotask(() => ca.has(l) && l(caUpdate()));
    },
    removeCaCertificateListener: (l) => ca.delete(l),
    addIdentityCertificateListener: (l) => {
      own.add(l);
      queueMicrotask(() => own.has(l) && l(ownUpdate()));
    },
    removeIdentityCertificateListener: (l) => own.delete(l),
  };
  providers.set(identity, provider);
  return provider;
}

/** Server credentials: this identity's certificate, client certificates required and checked against its bundle. */
export function serverCredentials(identity: Identity): grpc.ServerCredentials {
  const provider = providerOf(identity);
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, true);
}

/**
 * Channel credentials presenting `identity`; the server's chain must lead to the bundle, carry a SPIFFE ID
 * of the same trust domain, and pass `check`. `onPeer` learns the server's identity at each handshake.
 */
export function channelCredentials(
  identity: Identity,
  onPeer: (peer: TlsPeer) => void,
  check?: PeerCheck,
): grpc.ChannelCredentials {
  const provider = providerOf(identity);
  return grpc.experimental.createCertificateProviderChannelCredentials(provider, provider, {
    checkServerIdentity: (_host, cert) => {
      const peer = tlsPeerOf(cert);
      if (peer instanceof Error) return new Error(`server identity refused: ${peer.message}`);
      if (peer.trustDomain !== identity.trustDomain)
        return new Error(`server ${peer.id} is not of trust domain ${identity.trustDomain}`);
      const problem = check?.({
        id: peer.id,
        trustDomain: peer.trustDomain,
        path: new URL(peer.id).pathname,
      });
      if (problem) return new Error(`server ${peer.id} refused: ${problem}`);
      onPeer(peer);
      return undefined;
    },
  });
}

/** Channel options every secure channel uses: a fixed TLS server name (SPIFFE certificates name no host). */
export const TLS_CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.ssl_target_name_override': 'nsm' };

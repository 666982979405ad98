/**
 * The TLS peer of a served call. grpc-js's `getAuthContext()` asks the socket for its peer certificate
 * on every call, and turning it into an object costs about a tenth of a millisecond per hop (measured
 * in benchmark 9). A connection's peer cannot change (TLS 1.3 has no renegotiation), so the peer is
 * looked up once per HTTP/2 session and kept beside it. When the call does not show its session the
 * way grpc-js 1.x does, every call takes the slower documented way (and a test says so).
 */
import { TLSSocket, type PeerCertificate } from 'node:tls';
import { Code, NsmError } from '../core/errors.js';
import type { CallPeerInfo } from './call-metadata.js';
import { tlsPeerOf } from './tls.js';

/** The parts of a grpc-js server call this module reads. */
export interface PeerSource {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
}

type Found = CallPeerInfo | NsmError;

const bySession = new WeakMap<object, Found>();

function refused(peer: Error): NsmError {
  return new NsmError(Code.UNAUTHENTICATED, `the caller's certificate is refused: ${peer.message}`);
}

/** The HTTP/2 session of a grpc-js server call (`call.call.stream.session`), if it shows one. */
export function sessionOf(call: PeerSource): { socket: unknown } | undefined {
  const inner = (call as { call?: { stream?: { session?: { socket?: unknown } } } }).call;
  const session = inner?.stream?.session;
  return session && session.socket instanceof TLSSocket ? (session as { socket: unknown }) : undefined;
}

/** The TLS peer of `call` (mTLS has checked its chain already), or why it has no SPIFFE ID. */
export function servedPeer(call: PeerSource): Found {
  const session = sessionOf(call);
  if (!session) {
    const peer = tlsPeerOf(call.getAuthContext()?.sslPeerCertificate);
    return peer instanceof Error ? refused(peer) : peer;
  }
  const known = bySession.get(session);
  if (known) return known;
  const socket = session.socket as TLSSocket;
  const peer = socket.authorized
    ? tlsPeerOf(socket.getPeerCertificate())
    : new Error('the TLS session is not authorized');
  const found = peer instanceof Error ? refused(peer) : peer;
  bySession.set(session, found);
  return found;
}

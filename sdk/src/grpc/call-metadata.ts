/**
 * What a served call carries, as context values, so elements read it without importing grpc-js: gRPC
 * metadata both ways, and the peer's identity from its TLS certificate.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { createContextKey, withValue, type Context } from '../core/context.js';

/** gRPC metadata key of the caller's per-call token (upstream NSM's). */
export const TOKEN_METADATA_KEY = 'nsm-client-token';
/** gRPC metadata key of that token's expiry (RFC 3339). */
export const TOKEN_EXPIRES_METADATA_KEY = 'nsm-client-token-expires';

/** Metadata received with the current call (keys lower-case). */
export const kIncomingMetadata = createContextKey<Readonly<Record<string, string>>>('grpc.incoming', {});
/** Metadata to send with the next outgoing call. */
export const kOutgoingMetadata = createContextKey<Readonly<Record<string, string>>>('grpc.outgoing', {});

/** `ctx` with `entries` added to the outgoing metadata. */
export function withOutgoingMetadata(ctx: Context, entries: Record<string, string>): Context {
  return withValue(ctx, kOutgoingMetadata, { ...ctx.value(kOutgoingMetadata), ...entries });
}

/** The peer of a served call (from its TLS certificate). */
export interface CallPeerInfo {
  /** Its SPIFFE ID. */
  id: string;
  trustDomain: string;
  publicKey: KeyObject;
  certificate: X509Certificate;
}

/** A call the gRPC server serves: its TLS peer, when the server uses mTLS and the peer has a SPIFFE ID. */
export interface ServedCall {
  readonly peer?: CallPeerInfo | undefined;
}

/** Set by the gRPC server on every call it serves; absent for calls made inside the process. */
export const kServedCall = createContextKey<ServedCall | undefined>('grpc.served', undefined);

/** The served call of `ctx`, when it came over gRPC (with its TLS peer when the server uses mTLS). */
export function servedCallOf(ctx: Context): ServedCall | undefined {
  return ctx.value(kServedCall);
}

/**
 * Trailer marking an error a server answered with (as opposed to one grpc-js made up for a
 * connection that failed): the caller then does not call that hop unavailable when it only passes
 * on an UNAVAILABLE from further along the path.
 */
export const ANSWERED_TRAILER = 'nsm-answered';

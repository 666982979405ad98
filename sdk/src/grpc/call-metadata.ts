/** gRPC metadata as context values, so elements read and write it without importing grpc-js. */
import { createContextKey, withValue, type Context } from '../core/context.js';

/** Metadata received with the current call (keys lower-case). */
export const kIncomingMetadata = createContextKey<Readonly<Record<string, string>>>('grpc.incoming', {});
/** Metadata to send with the next outgoing call. */
export const kOutgoingMetadata = createContextKey<Readonly<Record<string, string>>>('grpc.outgoing', {});

/** `ctx` with `entries` added to the outgoing metadata. */
export function withOutgoingMetadata(ctx: Context, entries: Record<string, string>): Context {
  return withValue(ctx, kOutgoingMetadata, { ...ctx.value(kOutgoingMetadata), ...entries });
}

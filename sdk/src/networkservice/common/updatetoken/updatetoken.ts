/**
 * updateToken: every hop signs its own path segment; the server side also records the token its caller
 * sent (gRPC metadata `nsm-client-token`) in the caller's segment, so the path carries a chain of tokens
 * that policies can check hop by hop.
 */
import { toTimestamp } from '../../../api/builders.js';
import type { Connection, PathSegment } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import type { Context } from '../../../core/context.js';
import { invalidArgument } from '../../../core/errors.js';
import { kIncomingMetadata, withOutgoingMetadata } from '../../../grpc/call-metadata.js';
import { formatRfc3339, parseRfc3339 } from '../../../tools/token/rfc3339.js';
import type { TokenGenerator, TokenPeer } from '../../../tools/token/token.js';

/** gRPC metadata key of the caller's token. */
export const TOKEN_METADATA_KEY = 'nsm-client-token';
/** gRPC metadata key of the caller's token expiry (RFC 3339). */
export const TOKEN_EXPIRES_METADATA_KEY = 'nsm-client-token-expires';

interface Segments {
  conn: Connection;
  own: PathSegment;
  index: number;
  all: PathSegment[];
}

function segments(conn: Connection | null): Segments {
  if (!conn) throw invalidArgument('request.connection is missing: expected a Connection');
  const path = conn.path;
  const index = path?.index ?? 0;
  const own = path?.path_segments[index];
  if (!path || !own) {
    const len = path?.path_segments.length ?? 0;
    throw invalidArgument(
      `connection.path.index ${index} is out of range for ${len} path segments: updatePath must run first`,
    );
  }
  return { conn, own, index, all: path.path_segments };
}

function sign(ctx: Context, tokens: TokenGenerator, own: PathSegment, peer: PathSegment | undefined): string {
  const who: TokenPeer | undefined = peer?.name ? { name: peer.name } : undefined;
  const { token, expiresAt } = tokens(ctx, who);
  own.token = token;
  own.expires = toTimestamp(expiresAt);
  return formatRfc3339(expiresAt);
}

/** Copies the caller's token into its segment (index - 1); both metadata entries or nothing. */
function recordCallerToken(ctx: Context, { conn, index, all }: Segments): void {
  const prev = index > 0 ? all[index - 1] : undefined;
  if (!prev) return;
  const md = ctx.value(kIncomingMetadata);
  const token = md[TOKEN_METADATA_KEY];
  const expires = parseRfc3339(md[TOKEN_EXPIRES_METADATA_KEY]);
  if (!token || expires === undefined) {
    // Never log the token itself.
    ctx.log.debug(
      { connId: conn.id, hasToken: Boolean(token) },
      'updateToken: no valid caller token in metadata',
    );
    return;
  }
  prev.token = token;
  prev.expires = toTimestamp(expires);
}

function serverSide(ctx: Context, conn: Connection | null, tokens: TokenGenerator): void {
  const seg = segments(conn);
  recordCallerToken(ctx, seg);
  const { own, index, all } = seg;
  // The token is for the caller, who receives this segment back.
  sign(ctx, tokens, own, index > 0 ? all[index - 1] : undefined);
}

function clientSide(ctx: Context, conn: Connection | null, tokens: TokenGenerator): Context {
  const { own, index, all } = segments(conn);
  // The token is for the next hop when a refresh already knows it.
  const expires = sign(ctx, tokens, own, all[index + 1]);
  return withOutgoingMetadata(ctx, {
    [TOKEN_METADATA_KEY]: own.token,
    [TOKEN_EXPIRES_METADATA_KEY]: expires,
  });
}

/**
 * Server flavour: records the caller's token from metadata in the previous segment, then signs this hop's
 * segment. Needs `updatePath` before it. Usage: `updateTokenServer(jwtTokenGenerator({ name }))`.
 */
export function updateTokenServer(tokens: TokenGenerator): NetworkServiceElement {
  return {
    async request(ctx, req, next) {
      serverSide(ctx, req.connection, tokens);
      return next.request(ctx, req);
    },
    async close(ctx, conn, next) {
      serverSide(ctx, conn, tokens);
      return next.close(ctx, conn);
    },
  };
}

/**
 * Client flavour: signs this hop's segment and sends the token to the next hop as `nsm-client-token` /
 * `nsm-client-token-expires` metadata. Usage: `updateTokenClient(jwtTokenGenerator({ name }))`.
 */
export function updateTokenClient(tokens: TokenGenerator): NetworkServiceElement {
  return {
    async request(ctx, req, next) {
      return next.request(clientSide(ctx, req.connection, tokens), req);
    },
    async close(ctx, conn, next) {
      return next.close(clientSide(ctx, conn, tokens), conn);
    },
  };
}

/** `updateTokenServer` or `updateTokenClient` by side. Usage: `updateToken(tokens, 'client')`. */
export function updateToken(
  tokens: TokenGenerator,
  side: 'server' | 'client' = 'server',
): NetworkServiceElement {
  return side === 'server' ? updateTokenServer(tokens) : updateTokenClient(tokens);
}

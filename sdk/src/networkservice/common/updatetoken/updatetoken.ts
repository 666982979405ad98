/**
 * updateToken (server): records the token the caller sent with this call (gRPC metadata
 * `nsm-client-token`, signed for us by the caller's transport) in the caller's path segment, and signs
 * this hop's own segment, addressed to the caller (its TLS identity). The path thus carries a chain of
 * tokens, each for the next hop, that the policies check hop by hop (as upstream NSM's updatetoken).
 */
import { toTimestamp } from '../../../api/builders.js';
import type { Connection, PathSegment } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import type { Context } from '../../../core/context.js';
import { invalidArgument } from '../../../core/errors.js';
import {
  TOKEN_EXPIRES_METADATA_KEY,
  TOKEN_METADATA_KEY,
  kIncomingMetadata,
  servedCallOf,
} from '../../../grpc/call-metadata.js';
import type { TokenGenerator } from '../../../security/tokens.js';
import { parseRfc3339 } from '../../../tools/token/rfc3339.js';

export { TOKEN_EXPIRES_METADATA_KEY, TOKEN_METADATA_KEY } from '../../../grpc/call-metadata.js';

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

async function update(ctx: Context, conn: Connection | null, tokens: TokenGenerator): Promise<void> {
  const seg = segments(conn);
  recordCallerToken(ctx, seg);
  const { own, index, all } = seg;
  // For the caller, who receives this segment back: its TLS identity, else (plaintext) its segment name.
  const caller = servedCallOf(ctx)?.peer?.id ?? (index > 0 ? all[index - 1]?.name : undefined);
  const { token, expiresAt } = await tokens(ctx, caller ? { id: caller } : undefined);
  own.token = token;
  own.expires = toTimestamp(expiresAt);
}

/**
 * Records the caller's token in the previous segment, then signs this hop's segment. Needs `updatePath`
 * before it. Usage: `updateTokenServer(identityTokenGenerator({ identity }))`.
 */
export function updateTokenServer(tokens: TokenGenerator): NetworkServiceElement {
  return {
    async request(ctx, req, next) {
      await update(ctx, req.connection, tokens);
      return next.request(ctx, req);
    },
    async close(ctx, conn, next) {
      await update(ctx, conn, tokens);
      return next.close(ctx, conn);
    },
  };
}

/**
 * authorize (server): checks every call that arrives over gRPC against the policies (upstream NSM's
 * `tokens_valid`, `tokens_expired`, `tokens_chained`, `prev_token_signed`) on the left side of the path,
 * and `tokens_ownership`: a connection is refreshed and closed only by the client that opened it (the
 * `sub` of the first segment's token). Refusals are PERMISSION_DENIED naming the policy and the reason.
 * Calls made inside the process (a hop's own timeouts and heals) are not policed. It runs before
 * `begin`, so a refused call changes nothing.
 */
import type { Connection } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import type { Context } from '../../../core/context.js';
import { servedCallOf } from '../../../grpc/call-metadata.js';
import { tokenSubject } from '../../../security/jwt.js';
import { SERVER_POLICIES, enforce, permissionDenied, type Policy } from '../../../security/policies.js';
import type { TokenVerifier } from '../../../security/verify.js';

/** Options for `authorize`. */
export interface AuthorizeOptions {
  verifier: TokenVerifier;
  /** Default: the four server policies. */
  policies?: readonly Policy[];
  /** Enforce `tokens_ownership` (default true). */
  ownership?: boolean;
}

/** Who opened a connection at this hop, and until when the record is kept without a refresh. */
interface Owner {
  sub: string;
  until: number;
}

/** Kept past the connection's last expiry, so an owner's late refresh or close is still recognised. */
const GRACE_MS = 60_000;

const originOf = (conn: Connection): string | undefined => tokenSubject(conn.path?.path_segments[0]?.token);

function lastExpiry(conn: Connection): number {
  let max = 0;
  for (const seg of conn.path?.path_segments ?? []) {
    const s = Number(seg.expires?.seconds ?? 0) * 1000;
    if (s > max) max = s;
  }
  return max;
}

/** Usage: `chain(validateRequest(), updatePath(name), updateTokenServer(tokens), authorize({ verifier }), begin(), ...)`. */
export function authorize(options: AuthorizeOptions): NetworkServiceElement {
  const policies = options.policies ?? SERVER_POLICIES;
  const ownership = options.ownership ?? true;
  // The one table of this element: connection id → its originating client at this hop.
  const owners = new Map<string, Owner>();
  let sweptAt = 0;

  const sweep = (now: number): void => {
    if (now - sweptAt < 10_000) return;
    sweptAt = now;
    for (const [id, owner] of owners) if (owner.until < now) owners.delete(id);
  };

  const check = async (
    ctx: Context,
    conn: Connection | null,
    action: 'request' | 'close',
  ): Promise<boolean> => {
    const served = servedCallOf(ctx);
    if (!served || !conn) return false;
    const now = ctx.clock.now();
    const path = conn.path;
    const index = path?.index ?? 0;
    const segments = (path?.path_segments ?? []).slice(0, index + 1);
    await enforce(policies, {
      segments,
      index,
      now,
      verifier: options.verifier,
      ...(served.peer ? { peer: served.peer } : {}),
    });
    if (ownership) {
      sweep(now);
      const owner = owners.get(conn.id);
      const origin = originOf(conn);
      if (owner && owner.until >= now && owner.sub !== origin) {
        throw permissionDenied(
          'tokens_ownership',
          `connection ${conn.id} belongs to ${owner.sub}; ${origin ?? 'a caller without a readable first token'} may not ${action === 'close' ? 'close' : 'refresh'} it`,
        );
      }
    }
    return true;
  };

  return {
    async request(ctx, req, next) {
      const policed = await check(ctx, req.connection, 'request');
      const conn = await next.request(ctx, req);
      const origin = originOf(conn);
      if (policed && ownership && origin)
        owners.set(conn.id, { sub: origin, until: lastExpiry(conn) + GRACE_MS });
      return conn;
    },
    async close(ctx, conn, next) {
      const policed = await check(ctx, conn, 'close');
      await next.close(ctx, conn);
      if (policed) owners.delete(conn.id);
    },
  };
}

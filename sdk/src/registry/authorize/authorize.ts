/**
 * authorizeRegistry (server): registrations that arrive over gRPC must pass the token policies on the
 * left side of the registry path, and `registry_client_allowed` (upstream's client_allowed): a name
 * belongs to the identity that registered it first (the `sub` of the path's first token); another
 * identity may not update or unregister it. Operators (the lab's `nsm`) may clean up any record. Find
 * is open to every caller the mTLS admits. Refusals are PERMISSION_DENIED naming the policy.
 */
import type { Context } from '../../core/context.js';
import { registryElement, type RegistryElement } from '../../core/registry-chain.js';
import { fromTimestamp } from '../../api/builders.js';
import type { Timestamp } from '../../api/types.js';
import { servedCallOf } from '../../grpc/call-metadata.js';
import { tokenSubject } from '../../security/jwt.js';
import { SERVER_POLICIES, enforce, permissionDenied, type Policy } from '../../security/policies.js';
import type { TokenVerifier } from '../../security/verify.js';
import { registryPathOf } from '../path/path.js';

/** Options for `authorizeRegistry`. */
export interface RegistryAuthorizeOptions {
  verifier: TokenVerifier;
  /** Default: the server policies (tokens_valid, tokens_expired, tokens_chained, prev_token_signed). */
  policies?: readonly Policy[];
  /** Identities allowed to update or unregister any record. */
  operator?: (id: string) => boolean;
}

/** Kept past a registration's expiry, so a late refresh of its owner is still its own. */
const GRACE_MS = 60_000;

/**
 * Usage: `toRegistryHandler([validateNse(), registryUpdatePath(tokens), authorizeRegistry('network service endpoint', { verifier }), ...])`.
 */
export function authorizeRegistry<T extends { name: string; expiration_time?: Timestamp | null }, Q, R>(
  what: string,
  options: RegistryAuthorizeOptions,
): RegistryElement<T, Q, R> {
  const policies = options.policies ?? SERVER_POLICIES;
  // The one table of this element: record name → the identity that owns it.
  const owners = new Map<string, { id: string; until: number }>();

  /** Checks the call; returns the caller's identity, or undefined for calls from inside the process. */
  const check = async (
    ctx: Context,
    record: T,
    action: 'update' | 'unregister',
  ): Promise<string | undefined> => {
    const served = servedCallOf(ctx);
    if (!served) return undefined;
    const path = registryPathOf(ctx);
    const index = path?.index ?? 0;
    const segments = (path?.segments ?? [])
      .slice(0, index + 1)
      .map((s, i) => ({ name: `hop ${i}`, token: s.token }));
    const now = ctx.clock.now();
    await enforce(policies, {
      segments,
      index,
      now,
      verifier: options.verifier,
      ...(served.peer ? { peer: served.peer } : {}),
    });
    const caller = tokenSubject(segments[0]?.token) ?? '';
    const owner = record.name ? owners.get(record.name) : undefined;
    if (owner && owner.until >= now && owner.id !== caller && !options.operator?.(caller)) {
      throw permissionDenied(
        'registry_client_allowed',
        `${what} "${record.name}" is registered by ${owner.id}; ${caller || 'a caller without a readable first token'} may not ${action} it`,
      );
    }
    return caller;
  };

  return registryElement<T, Q, R>({
    async register(ctx, record, next) {
      const caller = await check(ctx, record, 'update');
      const stored = await next.register(ctx, record);
      if (caller !== undefined && !options.operator?.(caller)) {
        const expires = fromTimestamp(stored.expiration_time ?? null);
        const owner = owners.get(stored.name);
        owners.set(stored.name, {
          id: owner && owner.until >= ctx.clock.now() ? owner.id : caller,
          until: expires === undefined ? Infinity : expires + GRACE_MS,
        });
      }
      return stored;
    },
    async unregister(ctx, record, next) {
      const caller = await check(ctx, record, 'unregister');
      await next.unregister(ctx, record);
      if (caller !== undefined) owners.delete(record.name);
    },
  });
}

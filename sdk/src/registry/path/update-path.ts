/**
 * registryUpdatePath (server): takes this hop's place on the registry path as upstream's registry
 * updatepath does: the caller's per-call token goes into the caller's segment, this hop signs its own,
 * and the record's `path_ids` get the SPIFFE IDs of both (so `path_ids[0]` names who registered it).
 */
import type { Context } from '../../core/context.js';
import { registryElement, type RegistryElement } from '../../core/registry-chain.js';
import { invalidArgument } from '../../core/errors.js';
import { TOKEN_METADATA_KEY, kIncomingMetadata, servedCallOf } from '../../grpc/call-metadata.js';
import { tokenSubject } from '../../security/jwt.js';
import type { TokenGenerator } from '../../security/tokens.js';
import { incomingRegistryPath, withRegistryPath, type RegistryPath } from './path.js';

const subOf = (token: string): string => tokenSubject(token) ?? '';

function setId(ids: string[], index: number, id: string): string[] {
  const out = [...ids];
  if (index >= out.length) out.push(id);
  else out[index] = id;
  return out;
}

/** The path after this hop's step; the caller's and this hop's positions. */
function step(incoming: RegistryPath, peerToken: string, ownToken: string): RegistryPath {
  if (incoming.segments.length === 0)
    return { index: 1, segments: [{ token: peerToken }, { token: ownToken }] };
  if (incoming.index + 1 > incoming.segments.length)
    throw invalidArgument(
      `registry path Index ${incoming.index} is out of range for ${incoming.segments.length} segments: expected at most ${incoming.segments.length - 1}`,
    );
  const segments = incoming.segments.map((s) => ({ ...s }));
  const index = incoming.index + 1;
  segments[incoming.index]!.token = peerToken;
  if (index < segments.length) segments[index]!.token = ownToken;
  else segments.push({ token: ownToken });
  return { index, segments };
}

/** Usage: `toRegistryHandler([validateNse(), registryUpdatePath(tokens), authorizeRegistry(...), ...])`. */
export function registryUpdatePath<T extends { path_ids: string[] }, Q, R>(
  tokens: TokenGenerator,
): RegistryElement<T, Q, R> {
  const prepare = async (ctx: Context, record: T): Promise<{ ctx: Context; record: T }> => {
    const peerToken = ctx.value(kIncomingMetadata)[TOKEN_METADATA_KEY] ?? '';
    const peer = servedCallOf(ctx)?.peer?.id;
    const own = await tokens(ctx, peer ? { id: peer } : undefined);
    const path = step(incomingRegistryPath(ctx), peerToken, own.token);
    let ids = setId(record.path_ids, path.index - 1, subOf(peerToken));
    ids = setId(ids, path.index, subOf(own.token));
    return { ctx: withRegistryPath(ctx, path), record: { ...record, path_ids: ids } };
  };
  return registryElement<T, Q, R>({
    async register(ctx, record, next) {
      const hop = await prepare(ctx, record);
      return next.register(hop.ctx, hop.record);
    },
    async unregister(ctx, record, next) {
      const hop = await prepare(ctx, record);
      return next.unregister(hop.ctx, hop.record);
    },
  });
}

/**
 * The registry path: registry calls carry the hops they went through as JSON in gRPC metadata key
 * `path` (the NSM API). Here it is kept simple: a JSON array of `{ name, id }` segments, one per hop.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from '../../core/context.js';
import { invalidArgument } from '../../core/errors.js';
import { kIncomingMetadata, kOutgoingMetadata, withOutgoingMetadata } from '../../grpc/call-metadata.js';

/** The metadata key holding the registry path. */
export const REGISTRY_PATH_KEY = 'path';

/** One hop of a registry call. */
export interface RegistryPathSegment {
  name: string;
  id: string;
}

/** Parses a path value; malformed JSON or shapes get an INVALID_ARGUMENT naming the problem. */
export function parseRegistryPath(text: string): RegistryPathSegment[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidArgument(
      `registry path metadata "${REGISTRY_PATH_KEY}" is not JSON: expected an array of {name, id}`,
    );
  }
  const ok =
    Array.isArray(value) &&
    value.every(
      (s) =>
        typeof s === 'object' &&
        s !== null &&
        typeof (s as RegistryPathSegment).name === 'string' &&
        typeof (s as RegistryPathSegment).id === 'string',
    );
  if (!ok)
    throw invalidArgument(
      `registry path metadata "${REGISTRY_PATH_KEY}" must be a JSON array of {name, id} strings`,
    );
  return (value as RegistryPathSegment[]).map(({ name, id }) => ({ name, id }));
}

/** The path so far: what this process is about to send, else what it received (empty when none). */
export function registryPathOf(ctx: Context): RegistryPathSegment[] {
  const text =
    ctx.value(kOutgoingMetadata)[REGISTRY_PATH_KEY] ?? ctx.value(kIncomingMetadata)[REGISTRY_PATH_KEY];
  return text === undefined || text === '' ? [] : parseRegistryPath(text);
}

/** `ctx` whose outgoing path is the current path plus a segment for hop `name`. Usage: `withRegistryHop(ctx, 'nsmgr-1')`. */
export function withRegistryHop(ctx: Context, name: string): Context {
  const path = [...registryPathOf(ctx), { name, id: randomUUID() }];
  return withOutgoingMetadata(ctx, { [REGISTRY_PATH_KEY]: JSON.stringify(path) });
}

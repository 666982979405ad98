/**
 * The registry path, as upstream NSM carries it: JSON in gRPC metadata key `path`,
 * `{"Index":1,"PathSegments":[{"token":"<jwt>"},{"token":"<jwt>"}]}`, one segment per hop with the token
 * that hop signed (the caller's is recorded by the hop it calls). Keys are read case-insensitively, as
 * Go's JSON decoder does.
 */
import { createContextKey, withValue, type Context } from '../../core/context.js';
import { invalidArgument } from '../../core/errors.js';
import { kIncomingMetadata, withOutgoingMetadata } from '../../grpc/call-metadata.js';

/** The metadata key holding the registry path. */
export const REGISTRY_PATH_KEY = 'path';

/** A registry path: the hops' tokens and the position of the current hop. */
export interface RegistryPath {
  index: number;
  segments: { token: string }[];
}

function field(object: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : object[key];
}

const expected = 'expected JSON {"Index": n, "PathSegments": [{"token": "..."}]}';

/** Parses a `path` metadata value; INVALID_ARGUMENT names what is malformed. Usage: `parseRegistryPath(md.path)`. */
export function parseRegistryPath(text: string): RegistryPath {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidArgument(`registry path metadata "${REGISTRY_PATH_KEY}" is not JSON: ${expected}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidArgument(`registry path metadata "${REGISTRY_PATH_KEY}" is not an object: ${expected}`);
  const record = value as Record<string, unknown>;
  const index = field(record, 'Index') ?? 0;
  const segments = field(record, 'PathSegments') ?? [];
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0)
    throw invalidArgument(
      `registry path Index ${JSON.stringify(index)} is not a non-negative integer: ${expected}`,
    );
  if (!Array.isArray(segments))
    throw invalidArgument(`registry path PathSegments is not a list: ${expected}`);
  return {
    index,
    segments: segments.map((s: unknown, i) => {
      const token =
        typeof s === 'object' && s !== null ? field(s as Record<string, unknown>, 'token') : undefined;
      if (token !== undefined && typeof token !== 'string')
        throw invalidArgument(`registry path segment ${i} has a token that is not a string: ${expected}`);
      return { token: token ?? '' };
    }),
  };
}

/** The metadata form of a path. */
export function formatRegistryPath(path: RegistryPath): string {
  return JSON.stringify({ Index: path.index, PathSegments: path.segments.map((s) => ({ token: s.token })) });
}

/** The path a call came with (empty when it carries none). */
export function incomingRegistryPath(ctx: Context): RegistryPath {
  const text = ctx.value(kIncomingMetadata)[REGISTRY_PATH_KEY];
  return text ? parseRegistryPath(text) : { index: 0, segments: [] };
}

const kRegistryPath = createContextKey<RegistryPath | undefined>('registry.path', undefined);

/** The path as this hop made it (set by `registryUpdatePath`), for the elements after it. */
export function registryPathOf(ctx: Context): RegistryPath | undefined {
  return ctx.value(kRegistryPath);
}

/** `ctx` holding this hop's `path`, and sending it on to the next hop. */
export function withRegistryPath(ctx: Context, path: RegistryPath): Context {
  return withOutgoingMetadata(withValue(ctx, kRegistryPath, path), {
    [REGISTRY_PATH_KEY]: formatRegistryPath(path),
  });
}

/**
 * Per-connection state, kept by the `metadata` element for the lifetime of a connection and dropped on
 * Close. The client and server halves of a chain each get their own map so that an element used on
 * both sides (passthrough) does not mix its states.
 */
import type { Connection, NetworkServiceRequest } from '../api/types.js';
import { element, type NetworkServiceElement } from './chain.js';
import { createContextKey, withValue, type Context } from './context.js';

/** The per-connection store seen by elements; keys are the elements' own symbols. */
export type ConnectionMetadata = Map<symbol, unknown>;

const kServer = createContextKey<ConnectionMetadata | undefined>('metadata.server', undefined);
const kClient = createContextKey<ConnectionMetadata | undefined>('metadata.client', undefined);

/** The metadata map of the current connection; throws when no `metadata` element runs before. */
export function metadataOf(ctx: Context, side: 'server' | 'client'): ConnectionMetadata {
  const map = ctx.value(side === 'server' ? kServer : kClient);
  if (!map) throw new Error(`no ${side} metadata in context: add metadata('${side}') before this element`);
  return map;
}

/** Typed access to one element's slot in the connection metadata. */
export interface MetadataSlot<T> {
  get(ctx: Context): T | undefined;
  set(ctx: Context, value: T): void;
  delete(ctx: Context): void;
}

/** A slot for one element. Usage: `const slot = metadataSlot<Timer>('timeout', 'server')`. */
export function metadataSlot<T>(name: string, side: 'server' | 'client'): MetadataSlot<T> {
  const key = Symbol(name);
  return {
    get: (ctx) => metadataOf(ctx, side).get(key) as T | undefined,
    set: (ctx, value) => void metadataOf(ctx, side).set(key, value),
    delete: (ctx) => void metadataOf(ctx, side).delete(key),
  };
}

/**
 * Keeps a metadata map per connection id. A map created by a failed first request is dropped; a map
 * is dropped after Close whatever its outcome.
 */
export function metadata(side: 'server' | 'client'): NetworkServiceElement {
  const key = side === 'server' ? kServer : kClient;
  const maps = new Map<string, ConnectionMetadata>();
  const idOf = (conn: Connection | null): string => conn?.id ?? '';
  return element({
    async request(ctx, req: NetworkServiceRequest, next) {
      const id = idOf(req.connection);
      let map = maps.get(id);
      const created = !map;
      if (!map) {
        map = new Map();
        maps.set(id, map);
      }
      try {
        return await next.request(withValue(ctx, key, map), req);
      } catch (err) {
        if (created) maps.delete(id);
        throw err;
      }
    },
    async close(ctx, conn, next) {
      const map = maps.get(conn.id) ?? new Map<symbol, unknown>();
      try {
        await next.close(withValue(ctx, key, map), conn);
      } finally {
        maps.delete(conn.id);
      }
    },
  });
}

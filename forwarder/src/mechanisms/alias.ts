/**
 * The interface alias that marks a link as built by a forwarder for a connection:
 * `nsm:<owner>:<connection id>`. The owner (the forwarder's name) keeps forwarders that share a
 * host (emulated nodes) from ever adopting or sweeping each other's links.
 */
import { invalidArgument } from '@nsm-ts/sdk/core';
import { IFALIAS_MAX } from '../kernel/netlink/constants.js';

/** Every alias the forwarder writes starts with this. */
export const ALIAS_PREFIX = 'nsm:';

/** A parsed alias. */
export interface WireAlias {
  readonly owner: string;
  readonly connId: string;
}

/**
 * The alias for `connId` built by `owner`. Throws INVALID_ARGUMENT for an owner containing ':'
 * or an alias longer than the kernel allows.
 * Usage: `formatAlias('forwarder-node1', conn.id)` → `nsm:forwarder-node1:<id>`.
 */
export function formatAlias(owner: string, connId: string): string {
  if (owner === '' || owner.includes(':')) {
    throw invalidArgument(
      `forwarder name "${owner}" cannot mark interfaces: it must be non-empty without ':'`,
    );
  }
  if (connId === '') throw invalidArgument('connection id is empty: expected the id of this hop');
  const alias = `${ALIAS_PREFIX}${owner}:${connId}`;
  if (Buffer.byteLength(alias) > IFALIAS_MAX) {
    throw invalidArgument(
      `connection id "${connId.slice(0, 40)}..." is too long for an interface alias (${IFALIAS_MAX} bytes)`,
    );
  }
  return alias;
}

/**
 * Parses an alias written by {@link formatAlias}; undefined for any other alias.
 * Usage: `parseAlias(link.alias)?.connId`.
 */
export function parseAlias(alias: string | undefined): WireAlias | undefined {
  if (!alias?.startsWith(ALIAS_PREFIX)) return undefined;
  const rest = alias.slice(ALIAS_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon <= 0 || colon === rest.length - 1) return undefined;
  return { owner: rest.slice(0, colon), connId: rest.slice(colon + 1) };
}

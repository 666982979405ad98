/**
 * updatePath: gives every hop its own view of a connection. The path lists one segment per hop; the
 * hop named `name` finds (or adds) its segment, uses that segment's id as the connection id for the
 * rest of its chain, and hands the caller back the caller's own view when the request returns.
 */
import { randomUUID } from 'node:crypto';
import { newConnection } from '../../../api/builders.js';
import type { Connection, PathSegment } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import { invalidArgument } from '../../../core/errors.js';

/** A connection moved to a hop's view, and the index of the caller's segment to restore afterwards. */
interface HopView {
  conn: Connection;
  callerIndex: number;
}

function newSegment(name: string, id: string): PathSegment {
  return { name, id, token: '', expires: null, metrics: {} };
}

/**
 * Moves `source` to the view of hop `name` (see docs/semantics.md, "Path and identity"). The caller's objects
 * are not mutated. With `mint` false (Close) no id is invented: `undefined` means this hop is not on
 * the path, so it has nothing to close.
 */
function enterHop(source: Connection, name: string, mint: true): HopView;
function enterHop(source: Connection, name: string, mint: false): HopView | undefined;
function enterHop(source: Connection, name: string, mint: boolean): HopView | undefined {
  const segments = (source.path?.path_segments ?? []).map((segment) => ({ ...segment }));
  const index = source.path?.index ?? 0;
  const conn: Connection = { ...source, path: { index, path_segments: segments } };

  if (segments.length === 0) {
    if (!conn.id && !mint) return undefined;
    conn.id ||= randomUUID();
    conn.path = { index: 0, path_segments: [newSegment(name, conn.id)] };
    return { conn, callerIndex: 0 };
  }
  const current = segments[index];
  if (!current) {
    throw invalidArgument(
      `path.index ${index} is out of range at hop "${name}": the path has ${segments.length} segment(s), ` +
        `so the index must be below ${segments.length}`,
    );
  }
  if (current.name === name) {
    // This hop's own segment: a refresh (or a close) of a connection it already knows.
    conn.id = current.id;
    return { conn, callerIndex: index };
  }
  if (conn.id && conn.id !== current.id) {
    throw invalidArgument(
      `connection id "${conn.id}" does not match the id "${current.id}" of path segment ${index} ` +
        `("${current.name}") arriving at hop "${name}"; they must be equal`,
    );
  }
  const nextIndex = index + 1;
  if (segments[nextIndex]?.name !== name) {
    if (!mint) return undefined;
    // A different hop held this place before (e.g. another forwarder): take it over with a new id,
    // keeping the later segments as upstream does.
    segments[nextIndex] = newSegment(name, randomUUID());
  }
  conn.path = { index: nextIndex, path_segments: segments };
  conn.id = segments[nextIndex]?.id ?? '';
  return { conn, callerIndex: index };
}

/** The answer as the caller sees it: its own index and its own segment's id. */
function leaveHop(conn: Connection, callerIndex: number, callerId: string): Connection {
  const segments = conn.path?.path_segments ?? [];
  return {
    ...conn,
    id: segments[callerIndex]?.id ?? callerId,
    path: { index: callerIndex, path_segments: segments },
  };
}

/**
 * The path element, the same on the server and the client side. Put it first in a chain; `name` is
 * the hop's name (NSM_NAME). Errors: INVALID_ARGUMENT when `path.index` is out of range or the
 * connection id does not match the current segment's id.
 * Usage: `chain(updatePath('nsmgr-node1'), begin(), metadata('server'), timeout(), ...)`.
 */
export function updatePath(name: string): NetworkServiceElement {
  return {
    async request(ctx, req, next) {
      const view = enterHop(req.connection ?? newConnection(), name, true);
      const callerId = view.conn.path?.path_segments[view.callerIndex]?.id ?? view.conn.id;
      const conn = await next.request(ctx, { ...req, connection: view.conn });
      return leaveHop(conn, view.callerIndex, callerId);
    },
    async close(ctx, conn, next) {
      const view = enterHop(conn, name, false);
      if (!view) {
        ctx.log.debug(
          { connId: conn.id, hop: name },
          'close of a connection whose path does not include this hop',
        );
        return;
      }
      await next.close(ctx, view.conn);
    },
  };
}

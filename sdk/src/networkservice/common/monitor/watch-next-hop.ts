/**
 * Watches one connection on the next hop and reports its loss: a DELETE, a DOWN state, or the
 * monitor stream itself breaking (the hop died or restarted). Streams are shared per next hop.
 */
import type { Connection } from '../../../api/types.js';
import type { Context } from '../../../core/context.js';
import type { MeshClients } from '../../../grpc/client.js';
import { watchOnHub, type LossReason } from './monitor-hub.js';

export type { LossReason } from './monitor-hub.js';

/** A running watch; `stop()` ends it without a report. */
export interface NextHopWatch {
  readonly url: string;
  readonly nextId: string;
  stop(): void;
}

/** The id of the next hop's segment in `conn`'s path (the segment after this hop's own). */
export function nextSegmentId(conn: Connection): string | undefined {
  const path = conn.path;
  return path?.path_segments[path.index + 1]?.id;
}

/** Starts a watch of `conn` at `url`; `onLoss` is called at most once. It outlives the call that started it. */
export function watchNextHop(
  ctx: Context,
  pool: MeshClients,
  url: string,
  conn: Connection,
  onLoss: (reason: LossReason) => void,
): NextHopWatch | undefined {
  const nextId = nextSegmentId(conn);
  if (!nextId) return undefined;
  const stop = watchOnHub(pool, url, nextId, ctx.log, onLoss);
  return { url, nextId, stop };
}

/**
 * Watches one connection on the next hop's MonitorConnections stream and reports its loss: a DELETE, a
 * DOWN state, or the stream itself breaking (the hop died or restarted).
 */
import type { Connection } from '../../../api/types.js';
import { createContext, type Context } from '../../../core/context.js';
import type { ClientPool } from '../../../grpc/client.js';

/** Why a watched connection was lost. */
export type LossReason = 'deleted' | 'down' | 'stream-lost';

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

/**
 * Starts a watch of `conn` at `url`. `onLoss` is called at most once. The watch lives on its own
 * context (not the request's), so it outlives the call that started it.
 */
export function watchNextHop(
  ctx: Context,
  pool: ClientPool,
  url: string,
  conn: Connection,
  onLoss: (reason: LossReason) => void,
): NextHopWatch | undefined {
  const nextId = nextSegmentId(conn);
  if (!nextId) return undefined;
  const controller = new AbortController();
  const watchCtx = createContext({ signal: controller.signal, log: ctx.log, clock: ctx.clock });
  let done = false;
  const report = (reason: LossReason): void => {
    if (done) return;
    done = true;
    sub.unsubscribe();
    onLoss(reason);
  };
  const selector = { path_segments: [{ name: '', id: nextId, token: '', expires: null, metrics: {} }], network_services: [] };
  const sub = pool
    .get(url)
    .monitor(watchCtx, selector)
    .subscribe({
      next: (event) => {
        const seen = event.connections[nextId];
        if (event.type === 'INITIAL_STATE_TRANSFER' && !seen) report('deleted');
        else if (seen && event.type === 'DELETE') report('deleted');
        else if (seen && seen.state === 'DOWN') report('down');
      },
      error: () => report('stream-lost'),
      complete: () => report('stream-lost'),
    });
  return {
    url,
    nextId,
    stop: () => {
      done = true;
      sub.unsubscribe();
      controller.abort();
    },
  };
}

/** Undoing a request whose next hop succeeded but whose wire could not be built. */
import type { Connection } from '@nsm-ts/sdk/api';
import type { NetworkServiceHandler } from '@nsm-ts/sdk/core';
import { type Context, detached } from '@nsm-ts/sdk/core';
import type { KernelDeps } from './deps.js';
import { dropWire } from './wires.js';

/**
 * Removes whatever was built for `conn` and closes it on the next hop, on a context that survives
 * the caller's cancellation. Never throws: the build error is what the caller reports.
 */
export async function rollback(
  ctx: Context,
  deps: KernelDeps,
  conn: Connection,
  next: NetworkServiceHandler,
): Promise<void> {
  const cleanup = detached(ctx);
  try {
    await dropWire(deps, conn.id, ctx.log);
    await next.close(cleanup.ctx, conn).catch((err: unknown) => {
      ctx.log.warn({ connId: conn.id, err: String(err) }, 'closing the next hop after a failed build failed');
    });
  } finally {
    cleanup.cancel();
  }
}

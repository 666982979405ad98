/**
 * One MonitorConnections stream per next hop, shared by every connection through it. Opening a stream
 * per connection would cost each request one more stream set-up per hop; instead the hub follows all
 * of the next hop's connections and tells each watcher about its own.
 */
import type { Subscription } from 'rxjs';
import type { ConnectionEvent } from '../../../api/types.js';
import { createContext, withoutCancel } from '../../../core/context.js';
import type { Logger } from '../../../core/log.js';
import type { MeshClients } from '../../../grpc/client.js';

/** Why a watched connection was lost. */
export type LossReason = 'deleted' | 'down' | 'stream-lost';
type Listener = (reason: LossReason) => void;

/** The shared stream to one URL. */
class Hub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly sub: Subscription;
  private readonly stopStream: () => void;
  closed = false;

  constructor(pool: MeshClients, url: string, log: Logger, onEnd: () => void) {
    const { ctx, cancel } = withoutCancel(createContext({ log }));
    this.stopStream = cancel;
    const end = (): void => {
      if (this.closed) return;
      this.closed = true;
      onEnd();
      const all = [...this.listeners.values()].flatMap((set) => [...set]);
      this.listeners.clear();
      for (const listener of all) listener('stream-lost');
    };
    this.sub = pool
      .get(url)
      .monitor(ctx, { path_segments: [], network_services: [] })
      .subscribe({ next: (event) => this.dispatch(event), error: end, complete: end });
  }

  private dispatch(event: ConnectionEvent): void {
    for (const [id, conn] of Object.entries(event.connections)) {
      const reason: LossReason | undefined =
        event.type === 'DELETE' ? 'deleted' : conn.state === 'DOWN' ? 'down' : undefined;
      const set = reason && this.listeners.get(id);
      if (!set) continue;
      this.listeners.delete(id);
      for (const listener of set) listener(reason);
    }
  }

  /** Calls `listener` once when connection `id` of the next hop is lost; returns the unwatch function. */
  watch(id: string, listener: Listener): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      const current = this.listeners.get(id);
      current?.delete(listener);
      if (current?.size === 0) this.listeners.delete(id);
    };
  }

  close(): void {
    this.closed = true;
    this.sub.unsubscribe();
    this.stopStream();
  }
}

const hubs = new WeakMap<MeshClients, Map<string, Hub>>();

/** Watches connection `id` on the next hop at `url`; `onLoss` is called at most once. */
export function watchOnHub(
  pool: MeshClients,
  url: string,
  id: string,
  log: Logger,
  onLoss: Listener,
): () => void {
  let byUrl = hubs.get(pool);
  if (!byUrl) hubs.set(pool, (byUrl = new Map<string, Hub>()));
  let hub = byUrl.get(url);
  if (!hub || hub.closed) {
    const created: Hub = new Hub(pool, url, log, () => {
      if (byUrl.get(url) === created) byUrl.delete(url);
    });
    hub = created;
    if (!hub.closed) byUrl.set(url, hub);
  }
  if (hub.closed) {
    queueMicrotask(() => onLoss('stream-lost'));
    return () => undefined;
  }
  return hub.watch(id, onLoss);
}

/** Ends the shared streams of `pool` (on shutdown). */
export function closeHubs(pool: MeshClients): void {
  for (const hub of hubs.get(pool)?.values() ?? []) hub.close();
  hubs.delete(pool);
}

/**
 * The wire audit: a pod deleted while its connections were up (its namespace gone, as after
 * `kubectl delete pod` or `nsm delete`) takes its ends of the wires with it, but nobody closes those
 * connections: a dead client never sends Close, and a deleted endpoint cannot answer. Every few
 * hundred milliseconds the forwarder lists the namespaces that exist (one pass over /run/netns and
 * /proc, however many wires there are) and closes, through the whole path, every connection with an
 * end in a namespace that is gone, so the other side's interface goes too and the client heals.
 */
import type { NamespaceRoots } from '../kernel/netns.js';
import { listNamespaces } from './adopt.js';
import type { KernelDeps } from './deps.js';
import { dropWire } from './wires.js';

/** Options of {@link startWireAudit}. */
export interface AuditOptions {
  /** Pause between two passes (default 500 ms). */
  readonly everyMs?: number;
  readonly roots?: NamespaceRoots;
}

/**
 * Starts the audit; returns the function that stops it.
 * Usage: `const stop = startWireAudit(deps); ...; stop()`.
 */
export function startWireAudit(deps: KernelDeps, options: AuditOptions = {}): () => void {
  const everyMs = options.everyMs ?? 500;
  const closing = new Set<string>();
  let stopped = false;
  let cancel = (): void => undefined;

  const pass = (): void => {
    if (deps.wires.size === 0) return;
    const live = new Set(listNamespaces([], options.roots).map((n) => n.key));
    for (const wire of deps.wires.values()) {
      const gone = wire.ends.find((end) => !live.has(end.target.nsKey));
      if (!gone || closing.has(wire.connId)) continue;
      closing.add(wire.connId);
      deps.log.info(
        { connId: wire.connId, pod: gone.target.role, name: gone.target.name },
        'a pod of this connection is gone: closing the connection',
      );
      const close = wire.closeConnection ?? (() => dropWire(deps, wire.connId, deps.log));
      close()
        .catch((err: unknown) =>
          deps.log.warn({ connId: wire.connId, err: String(err) }, 'closing the connection failed'),
        )
        .finally(() => {
          closing.delete(wire.connId);
          // A close that could not run (the chain refused it) still removes what is left here.
          if (deps.wires.get(wire.connId) === wire) void dropWire(deps, wire.connId, deps.log);
        });
    }
  };

  const schedule = (): void => {
    cancel = deps.clock.after(everyMs, () => {
      if (stopped) return;
      try {
        pass();
      } catch (err) {
        deps.log.warn({ err: String(err) }, 'wire audit failed');
      }
      schedule();
    });
  };
  schedule();
  return () => {
    stopped = true;
    cancel();
  };
}

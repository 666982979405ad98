/**
 * The health watch of a connection to an external VNF: an ARP request every period over its wire;
 * after the configured misses in a row, the connection is reported DOWN to this forwarder's monitor
 * (the previous hops pass that on and the client heals), with the reason in this hop's path segment
 * metrics (`down_reason`) and in the log. The watch then ends: the heal's request checks again
 * (external-check.ts) and starts a new one.
 */
import type { Connection } from '@nsm-ts/sdk/api';
import { metadataSlot, type Context } from '@nsm-ts/sdk/core';
import { monitorEventsOf } from '@nsm-ts/sdk/elements';
import type { KernelDeps } from './deps.js';
import { ARP_TIMEOUT_MS, answers, noAnswer, type ExternalTarget } from './external-check.js';

/** Period of the health check of a connection that is up. */
const EVERY_MS = 1000;
/** Failed health checks in a row that report the connection DOWN. */
const MISSES = 3;
import type { Wire } from './wire.js';

interface Watch {
  readonly wire: Wire;
  /** The connection as last answered: what a DOWN report carries. */
  answer: Connection;
  /** It reported DOWN (or its wire went away): a request must check the VNF again. */
  ended: boolean;
  stop(): void;
}

/** Per connection (server metadata: it ends with the connection). */
const kWatch = metadataSlot<Watch>('external.watch', 'server');

/** Whether `wire` is watched and healthy: a refresh need not check it again. */
export function isWatched(ctx: Context, wire: Wire): boolean {
  const watch = kWatch.get(ctx);
  return watch !== undefined && watch.wire === wire && !watch.ended;
}

/** Stops watching the connection of `ctx`. */
export function stopExternalWatch(ctx: Context): void {
  kWatch.get(ctx)?.stop();
  kWatch.delete(ctx);
}

/** Watches `wire` toward the VNF of `t`; `answer` is the connection this hop answered with. */
export function watchExternal(
  deps: KernelDeps,
  ctx: Context,
  t: ExternalTarget,
  answer: Connection,
  wire: Wire,
): void {
  const current = kWatch.get(ctx);
  if (current && current.wire === wire && !current.ended) {
    current.answer = answer;
    return;
  }
  stopExternalWatch(ctx);
  const events = monitorEventsOf(ctx);
  const everyMs = EVERY_MS;
  const limit = MISSES;
  const arpMs = ARP_TIMEOUT_MS;
  let closed = false;
  let cancel = (): void => {};
  let missed = 0;
  const report = async (): Promise<void> => {
    watch.ended = true;
    const tried = `${limit} health checks ${everyMs} ms apart`;
    const reason = (await noAnswer(deps, t, tried)).message;
    if (closed) return; // closed meanwhile: nothing to report
    deps.log.warn(
      { connId: watch.answer.id, reason },
      'external VNF stopped answering: reporting the connection DOWN',
    );
    const a = watch.answer;
    const index = a.path?.index ?? 0;
    const path = a.path
      ? {
          ...a.path,
          path_segments: a.path.path_segments.map((s, i) =>
            i === index ? { ...s, metrics: { ...s.metrics, down_reason: reason } } : s,
          ),
        }
      : null;
    events?.update({ ...a, state: 'DOWN', path });
  };
  const tick = async (): Promise<void> => {
    let alive: boolean;
    try {
      alive = await answers(t, arpMs, 1);
    } catch (err) {
      // The probe cannot be sent: the pod or its interface is gone, which the wire audit handles.
      deps.log.debug(
        { connId: watch.answer.id, err: String(err) },
        'external VNF check cannot run: watch ends',
      );
      watch.ended = true;
      return;
    }
    if (closed) return;
    missed = alive ? 0 : missed + 1;
    if (missed >= limit) return report();
    schedule();
  };
  const schedule = (): void => {
    cancel = deps.clock.after(everyMs, () => void tick());
  };
  const watch: Watch = {
    wire,
    answer,
    ended: false,
    stop: () => {
      closed = true;
      cancel();
    },
  };
  kWatch.set(ctx, watch);
  schedule();
}

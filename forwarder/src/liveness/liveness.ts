/**
 * Data-plane liveness for the client's heal: an ICMP echo from inside the client's pod to the
 * endpoint's address over the wire, and a periodic monitor that reports a wire as dead after
 * several consecutive misses. The SDK must not import the forwarder, so the check is injected
 * (`heal({ livenessCheck: createLivenessCheck() })`).
 */
import type { Connection } from '@nsm-ts/sdk/api';
import type { Context } from '@nsm-ts/sdk/core';
import { invalidArgument } from '@nsm-ts/sdk/core';
import type { LivenessCheck } from '@nsm-ts/sdk/elements';
import { resolveNamespace } from '../kernel/netns.js';
import { pingInNamespace } from './ping.js';

/** Where to ping from and to. */
export interface LivenessTarget {
  /** The client's namespace file; null when its mechanism names none (the caller is inside it). */
  readonly nsPath: string | null;
  /** The endpoint's address: dst_ip_addrs[0] without its prefix length. */
  readonly addr: string;
}

/** The target of the check for `conn`; throws INVALID_ARGUMENT when it has no endpoint address. */
export function livenessTarget(conn: Connection): LivenessTarget {
  const dst = conn.context?.ip_context?.dst_ip_addrs[0];
  if (!dst) throw invalidArgument(`connection ${conn.id} has no dst_ip_addrs to check liveness against`);
  const url = conn.mechanism?.type === 'KERNEL' ? conn.mechanism.parameters['inodeURL'] : undefined;
  return { nsPath: url ? resolveNamespace(url) : null, addr: dst.split('/')[0] ?? dst };
}

/** Options of {@link createLivenessCheck}. */
export interface LivenessCheckOptions {
  /** How long to wait for the echo reply (default 100 ms). */
  readonly timeoutMs?: number;
}

/**
 * A LivenessCheck for the client SDK's heal: true when the endpoint answers one echo in time;
 * false on a miss or when the check cannot run (no address, namespace gone), logged at debug.
 * Usage: `heal({ pool, url, livenessCheck: createLivenessCheck() })`.
 */
export function createLivenessCheck(options: LivenessCheckOptions = {}): LivenessCheck {
  const timeoutMs = options.timeoutMs ?? 100;
  return async (ctx: Context, conn: Connection) => {
    try {
      const target = livenessTarget(conn);
      await pingInNamespace(target.nsPath, target.addr, timeoutMs);
      return true;
    } catch (err) {
      ctx.log.debug({ connId: conn.id, err: String(err) }, 'liveness check missed');
      return false;
    }
  };
}

/** Options of {@link createLivenessMonitor}. */
export interface LivenessMonitorOptions {
  /** Probe period (default 200 ms). */
  readonly everyMs?: number;
  /** Echo timeout of the default probe (default 100 ms). */
  readonly timeoutMs?: number;
  /** Consecutive misses that make a failure (default 3). */
  readonly misses?: number;
  /** The probe (default: {@link createLivenessCheck} with `timeoutMs`). */
  readonly check?: LivenessCheck;
  /**
   * Misses do not count until the first answer or until this long after watching began (default
   * 3 s): a wire just built or rebuilt may take a moment (ARP, a passthrough bridging it) before it
   * answers, and a heal that gave up on it at once would only rebuild it again.
   */
  readonly graceMs?: number;
}

/** Watches connections' data planes. */
export interface LivenessMonitor {
  /**
   * Probes `conn` every period on `ctx.clock`; after the configured consecutive misses calls
   * `onFailure` once and stops. Returns a function that stops watching.
   */
  watch(ctx: Context, conn: Connection, onFailure: (conn: Connection, misses: number) => void): () => void;
}

/**
 * Periodic liveness probing. Usage:
 * `const stop = createLivenessMonitor({ everyMs: 200, timeoutMs: 100 }).watch(ctx, conn, () => heal(conn))`.
 */
export function createLivenessMonitor(options: LivenessMonitorOptions = {}): LivenessMonitor {
  const everyMs = options.everyMs ?? 200;
  const limit = options.misses ?? 3;
  const check = options.check ?? createLivenessCheck({ timeoutMs: options.timeoutMs ?? 100 });
  const graceMs = options.graceMs ?? 3000;
  return {
    watch(ctx, conn, onFailure) {
      let stopped = false;
      let cancel = (): void => {};
      let missed = 0;
      let answered = false;
      const since = ctx.clock.now();
      const tick = async (): Promise<void> => {
        const alive = await check(ctx, conn).catch(() => false);
        if (stopped) return;
        answered ||= alive;
        const counting = answered || ctx.clock.now() - since >= graceMs;
        missed = alive || !counting ? 0 : missed + 1;
        if (missed >= limit) {
          stopped = true;
          onFailure(conn, missed);
          return;
        }
        schedule();
      };
      // The next probe is scheduled when this one ends, so a slow probe never overlaps the next.
      const schedule = (): void => {
        cancel = ctx.clock.after(everyMs, () => void tick());
      };
      schedule();
      return () => {
        stopped = true;
        cancel();
      };
    },
  };
}

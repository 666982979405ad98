/**
 * A pinger for heal measurements: one ICMP echo every 10 ms from a pod's namespace to its peer (the
 * peer address is looked up again whenever it may have changed, as after a reselect onto another
 * endpoint), counting replies and losses; the outage is the time from the first lost reply to the
 * first reply after the last loss.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pingInNamespace } from '@nsm-ts/forwarder/liveness';

/** What a pinger saw. */
export interface PingReport {
  sent: number;
  lost: number;
  /** From the first lost reply to the first reply after the last loss (0 when none was lost). */
  outageMs: number;
  /** When the last loss was seen, relative to `mark()` (undefined: no loss after the mark). */
  recoveredAfterMarkMs: number | undefined;
}

/** A running pinger. */
export interface Pinger {
  /** Sets time zero for `recoveredAfterMarkMs` (e.g. the moment a component is killed). */
  mark(): void;
  /** Resolves once a reply came after the last loss (or now, if nothing was lost). */
  recovered(timeoutMs: number): Promise<void>;
  stop(): Promise<PingReport>;
}

/**
 * Starts pinging from the namespace at `nsPath` to whatever `target()` says (undefined: no peer
 * known right now, counted as lost). Usage: `const p = startPinger(ns, () => peerIp()); ...; await p.stop()`.
 */
export function startPinger(nsPath: string, target: () => string | undefined, everyMs = 10): Pinger {
  let running = true;
  let sent = 0;
  let lost = 0;
  let firstLoss: number | undefined;
  let lastLoss: number | undefined;
  let firstReplyAfterLoss: number | undefined;
  let markAt: number | undefined;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const to = target();
      sent++;
      const ok = to
        ? await pingInNamespace(nsPath, to, everyMs).then(
            () => true,
            () => false,
          )
        : false;
      const now = performance.now();
      if (!ok) {
        lost++;
        firstLoss ??= now;
        lastLoss = now;
        firstReplyAfterLoss = undefined;
      } else if (lastLoss !== undefined && firstReplyAfterLoss === undefined) {
        firstReplyAfterLoss = now;
      }
      const pause = everyMs - (performance.now() - started);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  })();
  return {
    mark() {
      markAt = performance.now();
    },
    async recovered(timeoutMs) {
      const until = performance.now() + timeoutMs;
      while (performance.now() < until) {
        if (lastLoss === undefined || firstReplyAfterLoss !== undefined) {
          // Settled only when a loss happened after the mark, or no loss at all a while after it.
          if (markAt === undefined || (lastLoss ?? 0) >= markAt || performance.now() - markAt > 3000) return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`traffic did not pass again within ${timeoutMs} ms (${lost} of ${sent} lost)`);
    },
    async stop() {
      running = false;
      await loop;
      return {
        sent,
        lost,
        outageMs:
          firstLoss !== undefined && firstReplyAfterLoss !== undefined ? firstReplyAfterLoss - firstLoss : 0,
        recoveredAfterMarkMs:
          markAt !== undefined && firstReplyAfterLoss !== undefined && (lastLoss ?? 0) >= markAt
            ? firstReplyAfterLoss - markAt
            : undefined,
      };
    },
  };
}

/**
 * The peer address of a lab client's connection on `ifname`, as the pod's own status file says now
 * (cheap enough to read before every echo; it follows a reselect onto another endpoint).
 * Usage: `startPinger(ns, peerOf(lab, 'nsc-1', 'nsm-1'))`.
 */
export function peerOf(lab: string, pod: string, ifname: string): () => string | undefined {
  const file = join(process.env['NSM_LAB_ROOT'] ?? '/run/nsm-lab', lab, 'pods', `${pod}.json`);
  let last: string | undefined;
  return () => {
    try {
      const status = JSON.parse(readFileSync(file, 'utf8')) as {
        requests: { ifname: string; state: string; dstIps?: string[] }[];
      };
      const request = status.requests.find((r) => r.ifname === ifname && r.state === 'up');
      last = request?.dstIps?.[0]?.split('/')[0] ?? last;
    } catch {
      // Being rewritten or gone for a moment: keep the last known peer.
    }
    return last;
  };
}

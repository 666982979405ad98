/**
 * The data plane of a passthrough pod in the lab: it joins the interface toward the previous hop and
 * the one toward the next service in a bridge, so traffic passes through the pod unchanged (the
 * addresses belong to the two ends of the chain). This is the pod's own work, as a CNF would do it.
 */
import { writeFileSync } from 'node:fs';
import type { NetworkServiceElement } from '@nsm-ts/sdk/core';
import { element } from '@nsm-ts/sdk/core';
import type { Logger } from '@nsm-ts/sdk/core';
import { sh } from '../lab/system.js';

/** Interface and bridge names of one passthrough connection (≤ 15 characters). */
export function passthroughNames(connId: string): { out: string; bridge: string } {
  const tag = connId.replace(/[^a-z0-9]/gi, '').slice(0, 8);
  return { out: `pt-${tag}`, bridge: `br-${tag}` };
}

/** The bridge `name` is enslaved to, '' for none, undefined when there is no such link. */
async function masterOf(name: string): Promise<string | undefined> {
  try {
    const [link] = JSON.parse(await sh('ip', ['-j', 'link', 'show', 'dev', name])) as { master?: string }[];
    return link?.master ?? '';
  } catch {
    return undefined;
  }
}

/**
 * Joins whichever of the two interfaces is not in the bridge yet (creating the bridge when missing).
 * Returns whether it changed anything; a missing interface is left for the next check.
 */
async function joinOnce(incoming: string, out: string, bridge: string): Promise<boolean> {
  const masters = await Promise.all([masterOf(incoming), masterOf(out)]);
  if (masters.some((m) => m === undefined) || masters.every((m) => m === bridge)) return false;
  if ((await masterOf(bridge)) === undefined) await sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
  if (masters[0] !== bridge) await sh('ip', ['link', 'set', incoming, 'master', bridge]);
  if (masters[1] !== bridge) await sh('ip', ['link', 'set', out, 'master', bridge]);
  await sh('ip', ['link', 'set', bridge, 'up']);
  return true;
}

/**
 * The forwarders put the chain's addresses on the pod's two interfaces (its incoming side gets the far
 * end's). Until they are bridged this pod's own stack would answer ARP for the far end, and a client
 * that learnt this pod's MAC so would send into the bridge frames it drops. A passthrough never
 * answers ARP itself (arp_ignore 8), in its own namespace.
 */
function neverAnswerArp(log: Logger): void {
  try {
    writeFileSync('/proc/sys/net/ipv4/conf/all/arp_ignore', '8');
  } catch (err) {
    log.warn({ err: String(err) }, 'cannot set arp_ignore: this pod may answer ARP for the chain');
  }
}

/**
 * Usage: `createEndpoint({ ..., elements: [passthroughBridge(log)], passthrough: {...} })`. The forwarder
 * builds the incoming side after this pod answered, and on a heal may rebuild an interface under the
 * same name, so each connection's two interfaces are checked while it lasts: every 50 ms for the first
 * 10 s and for 10 s after each join, every 2 s otherwise (well within the 3 s a client's data-plane
 * monitor waits for a rebuilt wire). One that appears outside the bridge (new, or rebuilt) is joined
 * instead of being left beside it.
 */
export function passthroughBridge(log: Logger): NetworkServiceElement {
  neverAnswerArp(log);
  const watched = new Map<string, { timer: NodeJS.Timeout; fastUntil: number }>();
  const watch = (connId: string, incoming: string): void => {
    if (watched.has(connId)) return;
    const { out, bridge } = passthroughNames(connId);
    let busy = false;
    let tick = 0;
    const state = { fastUntil: Date.now() + 10_000, timer: undefined as unknown as NodeJS.Timeout };
    state.timer = setInterval(() => {
      tick++;
      if (busy || (Date.now() > state.fastUntil && tick % 40 !== 0)) return;
      busy = true;
      joinOnce(incoming, out, bridge)
        .then(
          (joined) => {
            if (!joined) return;
            // Interfaces are being (re)built: look closely for a while again.
            state.fastUntil = Date.now() + 10_000;
            log.info({ bridge, incoming, out }, 'passthrough joined');
          },
          (err: unknown) =>
            log.error({ err: String(err), bridge }, 'joining the passthrough interfaces failed'),
        )
        .finally(() => (busy = false));
    }, 50);
    state.timer.unref();
    watched.set(connId, state);
  };
  return element({
    async request(ctx, req, next) {
      const conn = await next.request(ctx, req);
      const incoming = conn.mechanism?.parameters['name'];
      if (incoming) watch(conn.id, incoming);
      return conn;
    },
    async close(ctx, conn, next) {
      clearInterval(watched.get(conn.id)?.timer);
      watched.delete(conn.id);
      await next.close(ctx, conn);
      const { bridge } = passthroughNames(conn.id);
      await sh('ip', ['link', 'del', bridge]).catch(() => undefined);
    },
  });
}

/**
 * The data plane of a passthrough pod in the lab: it joins the interface toward the previous hop and
 * the one toward the next service in a bridge, so traffic passes through the pod unchanged (the
 * addresses belong to the two ends of the chain). This is the pod's own work, as a CNF would do it.
 */
import type { NetworkServiceElement } from '@nsm-ts/sdk/core';
import { element } from '@nsm-ts/sdk/core';
import type { Logger } from '@nsm-ts/sdk/core';
import { sh } from '../lab/system.js';

/** Interface and bridge names of one passthrough connection (≤ 15 characters). */
export function passthroughNames(connId: string): { out: string; bridge: string } {
  const tag = connId.replace(/[^a-z0-9]/gi, '').slice(0, 8);
  return { out: `pt-${tag}`, bridge: `br-${tag}` };
}

async function linkExists(name: string): Promise<boolean> {
  return sh('ip', ['link', 'show', 'dev', name]).then(
    () => true,
    () => false,
  );
}

async function join(incoming: string, out: string, bridge: string, log: Logger): Promise<void> {
  // The forwarder builds the incoming side after this pod answered: wait for it.
  for (let i = 0; i < 200 && !((await linkExists(incoming)) && (await linkExists(out))); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!(await linkExists(bridge))) await sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
  for (const dev of [incoming, out]) await sh('ip', ['link', 'set', dev, 'master', bridge]);
  await sh('ip', ['link', 'set', bridge, 'up']);
  log.info({ bridge, incoming, out }, 'passthrough joined');
}

/** Usage: `createEndpoint({ ..., elements: [passthroughBridge(log)], passthrough: {...} })`. */
export function passthroughBridge(log: Logger): NetworkServiceElement {
  return element({
    async request(ctx, req, next) {
      const conn = await next.request(ctx, req);
      const incoming = conn.mechanism?.parameters['name'];
      const { out, bridge } = passthroughNames(conn.id);
      if (incoming) {
        join(incoming, out, bridge, log).catch((err: unknown) =>
          log.error({ err: String(err), bridge }, 'joining the passthrough interfaces failed'),
        );
      }
      return conn;
    },
    async close(ctx, conn, next) {
      await next.close(ctx, conn);
      const { bridge } = passthroughNames(conn.id);
      await sh('ip', ['link', 'del', bridge]).catch(() => undefined);
    },
  });
}

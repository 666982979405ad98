/**
 * discoverForwarder: the manager's selection step. It picks one of this node's forwarders for a
 * connection — with the labels the requested service's matches ask for — keeps the connection on it,
 * and continues the request through it.
 */
import { clone } from '../../../api/builders.js';
import type { Connection, NetworkServiceEndpoint } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import type { Context } from '../../../core/context.js';
import { Code, NsmError, codeName, invalidArgument } from '../../../core/errors.js';
import type { NsHandler, NseHandler } from '../../../core/registry-chain.js';
import { withClientUrl } from '../clienturl/clienturl.js';
import { findEndpoints, findNetworkService, isExpired } from '../discover/registry-lookup.js';
import { forwarderLabels, matchForwarders, noForwarderMessage } from './match-forwarders.js';
import { metadataSlot } from '../../../core/metadata.js';

/** Options for `discoverForwarder`. */
export interface DiscoverForwarderOptions {
  nse: NseHandler;
  ns: NsHandler;
  /** This manager's node: forwarders labelled with another `nodeName` are not used. */
  nodeName: string;
  /** The service forwarders register under (default `forwarder`). */
  forwarderServiceName?: string;
}

/** A forwarder a connection went through. */
interface Choice {
  name: string;
  url: string;
}

/** The name in the segment after this hop's: the forwarder the connection used before a restart. */
function nextSegmentName(conn: Connection): string | undefined {
  const path = conn.path;
  return path ? path.path_segments[path.index + 1]?.name : undefined;
}

/** The forwarder a connection went through: its metadata, gone with it. */
const kChoice = metadataSlot<Choice>('discoverforwarder.choice', 'server');

/**
 * The manager element. A first request (or state RESELECT_REQUESTED, which forgets the earlier
 * choice) tries the fitting local forwarders in registry order — after a restart the one named in the
 * next path segment first — until one accepts; a refresh goes only to the forwarder chosen before.
 * Errors: NOT_FOUND for an unknown service or when no forwarder fits (naming the labels and the node),
 * UNAVAILABLE when the chosen forwarder is gone, and a list of failures when every forwarder failed.
 * Usage: `chain(..., discoverForwarder({ nse, ns, nodeName: 'node-1' }), connect({ pool }))`.
 */
export function discoverForwarder(options: DiscoverForwarderOptions): NetworkServiceElement {
  const service = options.forwarderServiceName ?? 'forwarder';

  const localForwarders = async (ctx: Context): Promise<NetworkServiceEndpoint[]> => {
    const now = ctx.clock.now();
    const all = await findEndpoints(ctx, options.nse, { network_service_names: [service] });
    return all.filter((f) => {
      const node = forwarderLabels(f, service)['nodeName'];
      return !isExpired(f, now) && (node === undefined || node === options.nodeName);
    });
  };

  const plan = async (ctx: Context, conn: Connection): Promise<NetworkServiceEndpoint[]> => {
    const ns = await findNetworkService(ctx, options.ns, conn.network_service);
    if (!ns) throw new NsmError(Code.NOT_FOUND, `network service "${conn.network_service}" is not found`);
    const local = await localForwarders(ctx);
    const result = matchForwarders(ns, local, conn.labels, service);
    const sticky = kChoice.get(ctx);
    if (sticky) {
      const same = result.forwarders.filter((f) => f.name === sticky.name);
      if (same.length > 0) return same;
      throw new NsmError(
        Code.UNAVAILABLE,
        `forwarder "${sticky.name}" of connection ${conn.id} is no longer available on node "${options.nodeName}"`,
      );
    }
    if (result.forwarders.length === 0) {
      throw new NsmError(
        Code.NOT_FOUND,
        noForwarderMessage(result, local, options.nodeName, conn.network_service, service),
      );
    }
    const before = nextSegmentName(conn);
    const preferred = result.forwarders.filter((f) => f.name === before);
    return [...preferred, ...result.forwarders.filter((f) => f.name !== before)];
  };

  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      if (!conn) throw invalidArgument('request without connection');
      if (conn.state === 'RESELECT_REQUESTED') kChoice.delete(ctx);
      const forwarders = await plan(ctx, conn);
      const failures: string[] = [];
      const errors: unknown[] = [];
      for (const f of forwarders) {
        try {
          const out = await next.request(withClientUrl(ctx, f.url), clone(req));
          kChoice.set(ctx, { name: f.name, url: f.url });
          return out;
        } catch (err) {
          if (forwarders.length === 1 || ctx.signal.aborted) throw err;
          const e = NsmError.from(err);
          errors.push(err);
          failures.push(`${f.name} (${f.url}): ${codeName(e.code)}: ${e.message}`);
          ctx.log.warn(
            { connId: conn.id, forwarder: f.name, err: String(err) },
            'forwarder refused the request; trying the next one',
          );
        }
      }
      throw new NsmError(
        Code.UNAVAILABLE,
        `all ${failures.length} forwarders on node "${options.nodeName}" failed: ${failures.join('; ')}`,
        {
          cause: new AggregateError(errors),
        },
      );
    },
    async close(ctx, conn, next) {
      const remembered = kChoice.get(ctx);
      const name = remembered?.name ?? nextSegmentName(conn);
      let url = remembered?.url;
      try {
        if (name) {
          // A re-registered forwarder may listen elsewhere now; fall back to what we knew.
          const [fresh] = await findEndpoints(ctx, options.nse, { name }).catch((err: unknown) => {
            ctx.log.warn(
              { connId: conn.id, forwarder: name, err: String(err) },
              'looking up the forwarder to close failed',
            );
            return [];
          });
          url = fresh?.url ?? url;
        }
        if (!url)
          ctx.log.warn(
            { connId: conn.id, forwarder: name },
            'closing a connection without a known forwarder',
          );
        await next.close(url ? withClientUrl(ctx, url) : ctx, conn);
      } finally {
        kChoice.delete(ctx);
      }
    },
  };
}

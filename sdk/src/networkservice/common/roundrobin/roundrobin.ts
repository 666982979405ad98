/**
 * roundRobin: the forwarder's second selection step. It takes the candidates `discoverCandidates`
 * found, tries them in weighted rotating order per service until one accepts the request, and keeps
 * each connection on the endpoint it got. Among equally weighted candidates, those on this
 * forwarder's node come first (no tunnel, no fabric in the path); a new rotation starts at a random
 * candidate, so forwarders of several nodes spread their first clients instead of all picking the
 * first endpoint (upstream's round-robin starts every forwarder at the same one).
 */
import { clone } from '../../../api/builders.js';
import type { Connection, NetworkServiceEndpoint, NetworkServiceRequest } from '../../../api/types.js';
import type { NetworkServiceElement, NetworkServiceHandler } from '../../../core/chain.js';
import type { Context } from '../../../core/context.js';
import { Code, NsmError, codeName, invalidArgument } from '../../../core/errors.js';
import { metadataSlot } from '../../../core/metadata.js';
import { withClientUrl } from '../clienturl/clienturl.js';
import { candidatesOf, type Candidate, type Candidates } from '../discover/candidates.js';
import { WeightedRotation } from './weighted.js';

/** The endpoint a connection went to. */
interface Choice {
  name: string;
  url: string;
}

const toChoice = (nse: NetworkServiceEndpoint): Choice => ({ name: nse.name, url: nse.url });

/** The endpoint a connection went to: its metadata, gone with it. */
const kChoice = metadataSlot<Choice>('roundrobin.choice', 'server');

/**
 * The candidates on `node`, and the others. Only when the service gives its routes no different
 * weights (weights are the service's own say) and only when both groups have members.
 */
function localFirst(endpoints: Candidate[], service: string, node: string | undefined): Candidate[][] {
  if (!node || new Set(endpoints.map((c) => c.weight)).size > 1) return [endpoints];
  const isLocal = (c: Candidate): boolean =>
    c.nse.network_service_labels[service]?.labels['nodeName'] === node;
  const local = endpoints.filter(isLocal);
  if (local.length === 0 || local.length === endpoints.length) return [endpoints];
  return [local, endpoints.filter((c) => !isLocal(c))];
}

/** The endpoints to try, in order. Only a first selection (or a reselect) may try more than one. */
function plan(
  found: Candidates,
  conn: Connection,
  sticky: Choice | undefined,
  rotation: WeightedRotation,
  node: string | undefined,
): Choice[] {
  const { endpoints } = found;
  const name = conn.network_service_endpoint_name || sticky?.name;
  if (name) {
    const fresh = endpoints.find((c) => c.nse.name === name);
    if (fresh) return [toChoice(fresh.nse)];
    if (sticky?.name === name) return [sticky];
    throw new NsmError(
      Code.NOT_FOUND,
      `network service endpoint "${name}" is not among the discovered candidates`,
    );
  }
  return localFirst(endpoints, conn.network_service, node).flatMap((group) =>
    rotation
      .order(
        conn.network_service,
        group.map((c) => ({ name: c.nse.name, weight: c.weight })),
      )
      .flatMap((i) => {
        const candidate = group[i];
        return candidate ? [toChoice(candidate.nse)] : [];
      }),
  );
}

/** Options of {@link roundRobin}. */
export interface RoundRobinOptions {
  /** This forwarder's node: its endpoints are tried first (labels `nodeName`, set by the manager). */
  nodeName?: string;
  /** Where new rotations start (default `Math.random`); tests pass `() => 0`. */
  random?: () => number;
}

/** One attempt: the request with the endpoint named, sent to its URL. */
function attempt(
  ctx: Context,
  req: NetworkServiceRequest,
  conn: Connection,
  choice: Choice,
  next: NetworkServiceHandler,
): Promise<Connection> {
  if (!choice.url) {
    return Promise.reject(
      new NsmError(Code.NOT_FOUND, `network service endpoint "${choice.name}" has no URL registered`),
    );
  }
  // One copy per try, so a failed try leaves nothing behind for the next.
  const tried: NetworkServiceRequest = {
    mechanism_preferences: clone(req.mechanism_preferences),
    connection: { ...clone(conn), network_service_endpoint_name: choice.name },
  };
  return next.request(withClientUrl(ctx, choice.url), tried);
}

function allFailed(service: string, failures: { choice: Choice; err: NsmError }[]): NsmError {
  const codes = new Set(failures.map((f) => f.err.code));
  const [only] = codes;
  const list = failures.map(
    ({ choice, err }) => `${choice.name} (${choice.url || 'no URL'}): ${codeName(err.code)}: ${err.message}`,
  );
  return new NsmError(
    codes.size === 1 && only !== undefined ? only : Code.UNAVAILABLE,
    `all ${failures.length} endpoints of network service "${service}" failed: ${list.join('; ')}`,
    { cause: new AggregateError(failures.map((f) => f.err)) },
  );
}

/**
 * The server element; needs `discoverCandidates()` right before it. A first request (or one with state
 * RESELECT_REQUESTED, which forgets the earlier choice) tries the candidates in smooth weighted
 * round-robin order per service until one succeeds, sending each try to the endpoint's URL with
 * `network_service_endpoint_name` set; when all fail the error lists each one and why. A refresh goes
 * only to the endpoint chosen before: if it fails, the error is returned and the client's heal decides.
 * Close goes to the chosen endpoint (or the one the connection names) and forgets the choice.
 * Usage: `chain(..., discoverCandidates({ nse, ns }), roundRobin(), connect({ pool }))`.
 */
export function roundRobin(options: RoundRobinOptions = {}): NetworkServiceElement {
  const random = options.random ?? Math.random;
  const rotation = new WeightedRotation(1024, (count) => Math.floor(random() * count));
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      if (!conn) throw invalidArgument('request without connection');
      const found = candidatesOf(ctx);
      if (!found)
        throw new NsmError(Code.INTERNAL, 'roundRobin needs discoverCandidates() before it in the chain');
      if (conn.state === 'RESELECT_REQUESTED') kChoice.delete(ctx);
      const choices = plan(found, conn, kChoice.get(ctx), rotation, options.nodeName);
      if (choices.length === 0) {
        throw new NsmError(
          Code.NOT_FOUND,
          `no endpoint candidates for network service "${conn.network_service}"`,
        );
      }
      const failures: { choice: Choice; err: NsmError }[] = [];
      for (const choice of choices) {
        try {
          const out = await attempt(ctx, req, conn, choice, next);
          kChoice.set(ctx, choice);
          return out;
        } catch (err) {
          if (choices.length === 1 || ctx.signal.aborted) throw err;
          failures.push({ choice, err: NsmError.from(err) });
          ctx.log.warn(
            { connId: conn.id, nse: choice.name, err: String(err) },
            'endpoint refused the request; trying the next one',
          );
        }
      }
      throw allFailed(conn.network_service, failures);
    },
    async close(ctx, conn, next) {
      const name = kChoice.get(ctx)?.name || conn.network_service_endpoint_name;
      const fresh = candidatesOf(ctx)?.endpoints.find((c) => c.nse.name === name)?.nse;
      const target = fresh ? toChoice(fresh) : kChoice.get(ctx);
      try {
        if (!target) {
          ctx.log.warn({ connId: conn.id }, 'closing a connection without a known endpoint');
          return await next.close(ctx, conn);
        }
        await next.close(withClientUrl(ctx, target.url), {
          ...conn,
          network_service_endpoint_name: target.name,
        });
      } finally {
        kChoice.delete(ctx);
      }
    },
  };
}

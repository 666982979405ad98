/**
 * mechanisms: dispatches a request to the element of its mechanism type. A refresh keeps the mechanism the
 * connection already has; a first request walks the client's preferences in order and takes the first
 * type this hop supports whose element succeeds.
 */
import { clone } from '../../../api/builders.js';
import type { NetworkServiceRequest } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import { Code, NsmError, invalidArgument } from '../../../core/errors.js';

function list(types: Iterable<string>): string {
  return `[${[...types].join(', ')}]`;
}

function attempt(req: NetworkServiceRequest, index: number): NetworkServiceRequest {
  // Each attempt gets its own copy so a failed mechanism leaves nothing behind for the next one.
  const copy = clone(req);
  copy.connection!.mechanism = clone(req.mechanism_preferences[index]!);
  return copy;
}

/**
 * Mechanism dispatch server element. `byType` maps mechanism types to the elements that set them up; each
 * calls `next` itself. Errors: INVALID_ARGUMENT without preferences, UNIMPLEMENTED when nothing offered is
 * supported, else the error of the failed mechanism (several: all messages, the last one's code).
 * Usage: `mechanisms({ KERNEL: kernelServer(), NOOP: element({}) })`.
 */
export function mechanisms(byType: Readonly<Record<string, NetworkServiceElement>>): NetworkServiceElement {
  // A Map, not the record: a type named "constructor" must not find Object.prototype.constructor.
  const elements = new Map(Object.entries(byType));
  const supported = list(elements.keys());
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      if (!conn) throw invalidArgument('request.connection is missing: expected a Connection');
      const current = conn.mechanism?.type;
      if (current) {
        const el = elements.get(current);
        if (!el) {
          throw new NsmError(
            Code.UNIMPLEMENTED,
            `connection ${conn.id} uses mechanism ${current}, which this hop does not support; it supports ${supported}`,
          );
        }
        return el.request(ctx, req, next);
      }
      const offered = req.mechanism_preferences.map((m) => m.type);
      if (offered.length === 0) {
        throw invalidArgument(
          `request for connection ${conn.id} offers no mechanism_preferences and has no mechanism; ` +
            `expected one of ${supported}`,
        );
      }
      const failures: { type: string; err: NsmError }[] = [];
      for (const [index, type] of offered.entries()) {
        const el = elements.get(type);
        if (!el) continue;
        try {
          return await el.request(ctx, attempt(req, index), next);
        } catch (err) {
          failures.push({ type, err: NsmError.from(err) });
          ctx.log.debug(
            { connId: conn.id, mechanism: type, err: String(err) },
            'mechanism failed, trying the next',
          );
        }
      }
      const last = failures.at(-1);
      if (!last) {
        throw new NsmError(
          Code.UNIMPLEMENTED,
          `no supported mechanism in ${list(offered)}; this hop supports ${supported}`,
        );
      }
      if (failures.length === 1) throw last.err;
      const summary = failures.map((f) => `${f.type}: ${f.err.message}`).join('; ');
      throw new NsmError(last.err.code, `every supported mechanism failed: ${summary}`, { cause: last.err });
    },
    close(ctx, conn, next) {
      const type = conn.mechanism?.type ?? '';
      const el = elements.get(type);
      if (el) return el.close(ctx, conn, next);
      // Still close the rest of the chain: whatever it holds for this connection must be released.
      ctx.log.debug(
        { connId: conn.id, mechanism: type },
        'close without a supported mechanism: passing through',
      );
      return next.close(ctx, conn);
    },
  };
}

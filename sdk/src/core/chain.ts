/**
 * Chains: every server and client is a list of small elements, each doing one thing and calling
 * `next`. `chain(...)` composes elements into one element; `toHandler(...)` closes a chain with a tail
 * that answers the request as it stands.
 */
import type { Connection, NetworkServiceRequest } from '../api/types.js';
import type { Context } from './context.js';

/** Something that serves Request and Close: a composed chain, a gRPC client, a remote hop. */
export interface NetworkServiceHandler {
  request(ctx: Context, req: NetworkServiceRequest): Promise<Connection>;
  close(ctx: Context, conn: Connection): Promise<void>;
}

/** One link of a chain. It must call `next` (or throw) and undo its own work if `next` fails. */
export interface NetworkServiceElement {
  request(ctx: Context, req: NetworkServiceRequest, next: NetworkServiceHandler): Promise<Connection>;
  close(ctx: Context, conn: Connection, next: NetworkServiceHandler): Promise<void>;
  /** What the chain trace calls it (see {@link named}). */
  readonly name?: string;
}

/** Whether chains built from now on trace their elements (NSM_TRACE_CHAIN=1, or {@link traceChains}). */
let tracing = /^(1|true|yes|on)$/i.test(process.env['NSM_TRACE_CHAIN'] ?? '');

/**
 * Turns the chain trace on or off for chains built afterwards: each element's request and close
 * are logged at debug level on entry and exit, with the connection id, the time spent and any
 * error. Off (the default) it costs nothing. Usage: `traceChains(true)` before building the chains.
 */
export function traceChains(on: boolean): void {
  tracing = on;
}

/** `element` with a name for the chain trace. Usage: `chain(named('begin', begin()), ...)`. */
export function named(name: string, element: NetworkServiceElement): NetworkServiceElement {
  return {
    name,
    request: (ctx, req, next) => element.request(ctx, req, next),
    close: (ctx, conn, next) => element.close(ctx, conn, next),
  };
}

function traced(
  element: NetworkServiceElement,
  index: number,
  rest: NetworkServiceHandler,
): NetworkServiceHandler {
  const label = element.name ?? `element ${index}`;
  const run = async <T>(
    ctx: Context,
    op: 'request' | 'close',
    connId: string,
    call: () => Promise<T>,
  ): Promise<T> => {
    const started = performance.now();
    ctx.log.debug({ element: label, op, connId }, 'enter');
    try {
      const out = await call();
      ctx.log.debug({ element: label, op, connId, ms: performance.now() - started }, 'exit');
      return out;
    } catch (err) {
      ctx.log.debug(
        { element: label, op, connId, ms: performance.now() - started, err: String(err) },
        'failed',
      );
      throw err;
    }
  };
  return {
    request: (ctx, req) =>
      run(ctx, 'request', req.connection?.id ?? '', () => element.request(ctx, req, rest)),
    close: (ctx, conn) => run(ctx, 'close', conn.id, () => element.close(ctx, conn, rest)),
  };
}

/** The end of every chain: the request's connection is the answer. */
export const tail: NetworkServiceHandler = {
  request: (_ctx, req) =>
    Promise.resolve(req.connection ?? Promise.reject(new Error('request without connection'))),
  close: () => Promise.resolve(),
};

function bind(
  elements: readonly NetworkServiceElement[],
  index: number,
  last: NetworkServiceHandler,
): NetworkServiceHandler {
  const element = elements[index];
  if (!element) return last;
  const rest = bind(elements, index + 1, last);
  if (tracing) return traced(element, index, rest);
  return {
    request: (ctx, req) => element.request(ctx, req, rest),
    close: (ctx, conn) => element.close(ctx, conn, rest),
  };
}

/** Composes elements into one element. Usage: `chain(updatePath(name), begin(), timeout(), connect())`. */
export function chain(...elements: NetworkServiceElement[]): NetworkServiceElement {
  const list = elements.slice();
  return {
    request: (ctx, req, next) => bind(list, 0, next).request(ctx, req),
    close: (ctx, conn, next) => bind(list, 0, next).close(ctx, conn),
  };
}

/** Composes elements into a handler ending in `last` (default: the tail). Composed once, at construction. */
export function toHandler(
  elements: NetworkServiceElement[],
  last: NetworkServiceHandler = tail,
): NetworkServiceHandler {
  return bind(elements.slice(), 0, last);
}

/** An element from partial methods; what is missing passes through. */
export function element(impl: Partial<NetworkServiceElement>): NetworkServiceElement {
  return {
    request: impl.request ?? ((ctx, req, next) => next.request(ctx, req)),
    close: impl.close ?? ((ctx, conn, next) => next.close(ctx, conn)),
  };
}

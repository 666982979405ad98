/**
 * The call context: cancellation, deadline, logger, clock and typed values. Contexts are immutable;
 * derive a new one with `withValue`, `withTimeout` or `withCancel`, never mutate.
 */
import { setMaxListeners } from 'node:events';
import { realClock, type Clock } from './clock.js';
import { silentLogger, type Logger } from './log.js';

/** A typed key for a context value, with the value used when it is absent. */
export interface ContextKey<T> {
  readonly id: symbol;
  readonly defaultValue: T;
}

/** Creates a context key. Usage: `const kClientUrl = createContextKey<string | undefined>('clientUrl', undefined)`. */
export function createContextKey<T>(description: string, defaultValue: T): ContextKey<T> {
  return { id: Symbol(description), defaultValue };
}

/** A readonly call context. */
export interface Context {
  readonly signal: AbortSignal;
  /** Absolute deadline in milliseconds since the epoch (on `clock`), if any. */
  readonly deadline: number | undefined;
  readonly log: Logger;
  readonly clock: Clock;
  /** The value for `key`, or its default. */
  value<T>(key: ContextKey<T>): T;
}

class CallContext implements Context {
  constructor(
    readonly signal: AbortSignal,
    readonly deadline: number | undefined,
    readonly log: Logger,
    readonly clock: Clock,
    private readonly values: ReadonlyMap<symbol, unknown>,
  ) {}

  value<T>(key: ContextKey<T>): T {
    return this.values.has(key.id) ? (this.values.get(key.id) as T) : key.defaultValue;
  }

  derive(changes: {
    signal?: AbortSignal;
    deadline?: number | undefined;
    log?: Logger;
    values?: ReadonlyMap<symbol, unknown>;
  }): CallContext {
    return new CallContext(
      changes.signal ?? this.signal,
      'deadline' in changes ? changes.deadline : this.deadline,
      changes.log ?? this.log,
      this.clock,
      changes.values ?? this.values,
    );
  }
}

/** A root context. Usage: `createContext({ log, clock })`. */
export function createContext(
  init: { signal?: AbortSignal; log?: Logger; clock?: Clock; deadline?: number } = {},
): Context {
  return new CallContext(
    init.signal ?? unboundedSignal(),
    init.deadline,
    init.log ?? silentLogger,
    init.clock ?? realClock,
    new Map(),
  );
}

function asCall(ctx: Context): CallContext {
  return ctx instanceof CallContext
    ? ctx
    : new CallContext(ctx.signal, ctx.deadline, ctx.log, ctx.clock, new Map());
}

/**
 * A signal for a context that may have many children at once (every call of a long-lived client
 * derives one): no listener-count warning, since each child removes its listener when done.
 */
function unboundedSignal(controller = new AbortController()): AbortSignal {
  setMaxListeners(0, controller.signal);
  return controller.signal;
}

/** `ctx` with `key` set to `value`. */
export function withValue<T>(ctx: Context, key: ContextKey<T>, value: T): Context {
  const call = asCall(ctx);
  const values = new Map(call['values']);
  values.set(key.id, value);
  return call.derive({ values });
}

/** `ctx` logging with `log` (e.g. `ctx.log.child({ trace_id })`). */
export function withLog(ctx: Context, log: Logger): Context {
  return asCall(ctx).derive({ log });
}

/** The reason of a plain cancel: one shared value, since every finished call cancels its context. */
const contextCancelled = new DOMException('context cancelled', 'AbortError');

/** A child context cancelled when the parent is or when `cancel` is called; call `cancel` when done. */
export function withCancel(ctx: Context): { ctx: Context; cancel: (reason?: unknown) => void } {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onAbort = (): void => controller.abort(ctx.signal.reason);
  if (ctx.signal.aborted) controller.abort(ctx.signal.reason);
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  const cancel = (reason?: unknown): void => {
    ctx.signal.removeEventListener('abort', onAbort);
    if (!controller.signal.aborted) controller.abort(reason ?? contextCancelled);
  };
  return { ctx: asCall(ctx).derive({ signal: controller.signal }), cancel };
}

/**
 * A child context that also aborts `ms` after now on the context clock (or at the parent's earlier
 * deadline). Call `cancel` when done so the timer is released.
 */
export function withTimeout(ctx: Context, ms: number): { ctx: Context; cancel: (reason?: unknown) => void } {
  const deadline = Math.min(ctx.clock.now() + ms, ctx.deadline ?? Infinity);
  const child = withCancel(ctx);
  const stop = ctx.clock.after(deadline - ctx.clock.now(), () =>
    child.cancel(new DOMException(`deadline of ${ms} ms exceeded`, 'TimeoutError')),
  );
  const derived = asCall(child.ctx).derive({ deadline });
  return {
    ctx: derived,
    cancel: (reason) => {
      stop();
      child.cancel(reason);
    },
  };
}

/**
 * A context for cleanup work after `ctx` was cancelled: not cancelled with it, but keeping its logger,
 * clock and values, with `budgetMs` to finish (upstream calls this a detached context).
 */
export function detached(ctx: Context, budgetMs = 15_000): { ctx: Context; cancel: () => void } {
  const root = asCall(ctx).derive({ signal: unboundedSignal(), deadline: undefined });
  return withTimeout(root, budgetMs);
}

/**
 * A context for long-lived work (a watch stream) started from `ctx`: same logger, clock and values, but
 * neither cancelled with `ctx` nor bound by its deadline. Call `cancel` to end it.
 */
export function withoutCancel(ctx: Context): { ctx: Context; cancel: (reason?: unknown) => void } {
  return withCancel(asCall(ctx).derive({ signal: unboundedSignal(), deadline: undefined }));
}

/** Milliseconds left until the deadline of `ctx` (Infinity without one). */
export function remaining(ctx: Context): number {
  return ctx.deadline === undefined ? Infinity : Math.max(0, ctx.deadline - ctx.clock.now());
}

import { constants } from 'node:os';

import { Code, NsmError } from '@nsm-ts/sdk/core';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}
// Aliases share numbers; prefer the names the kernel sources and iproute2 use.
errnoNames.set(constants.errno.EOPNOTSUPP, 'EOPNOTSUPP');
errnoNames.set(constants.errno.EAGAIN, 'EAGAIN');

/** The symbolic name of a positive errno, e.g. `EEXIST` for 17. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

const codeByErrno: Readonly<Record<string, Code>> = {
  EEXIST: Code.ALREADY_EXISTS,
  ENODEV: Code.NOT_FOUND,
  ENOENT: Code.NOT_FOUND,
  ESRCH: Code.NOT_FOUND,
  EADDRNOTAVAIL: Code.NOT_FOUND,
  EOPNOTSUPP: Code.UNIMPLEMENTED,
  EAFNOSUPPORT: Code.UNIMPLEMENTED,
  EPROTONOSUPPORT: Code.UNIMPLEMENTED,
  EINVAL: Code.INVALID_ARGUMENT,
  ERANGE: Code.INVALID_ARGUMENT,
  E2BIG: Code.INVALID_ARGUMENT,
  ENAMETOOLONG: Code.INVALID_ARGUMENT,
  EPERM: Code.PERMISSION_DENIED,
  EACCES: Code.PERMISSION_DENIED,
  EBUSY: Code.FAILED_PRECONDITION,
  ENETUNREACH: Code.FAILED_PRECONDITION,
  ENOBUFS: Code.RESOURCE_EXHAUSTED,
  ENOMEM: Code.RESOURCE_EXHAUSTED,
  ENOSPC: Code.RESOURCE_EXHAUSTED,
  ETIMEDOUT: Code.DEADLINE_EXCEEDED,
};

/** Where in a batch a kernel error happened. */
export interface BatchPosition {
  readonly index: number;
  readonly count: number;
}

/** Options of {@link KernelError}. */
export interface KernelErrorOptions {
  /** The kernel's own explanation from the extended ack, e.g. "Unknown device type". */
  readonly detail?: string;
  readonly position?: BatchPosition;
  readonly cause?: unknown;
}

/**
 * A failed kernel operation: which operation, the errno and its name, the kernel's explanation,
 * and a gRPC code derived from the errno so callers can map it at their boundary.
 * Usage: `if (err instanceof KernelError && err.errnoName === 'EEXIST') ...`.
 */
export class KernelError extends NsmError {
  readonly operation: string;
  readonly errno: number;
  readonly errnoName: string;
  readonly detail: string | undefined;
  readonly position: BatchPosition | undefined;

  constructor(operation: string, errno: number, options: KernelErrorOptions = {}) {
    const name = errnoName(errno);
    const where = options.position
      ? ` (message ${options.position.index + 1} of ${options.position.count})`
      : '';
    const detail = options.detail ? `: ${options.detail}` : '';
    super(codeByErrno[name] ?? Code.INTERNAL, `${operation}${where} failed: ${name}${detail}`, {
      cause: options.cause,
    });
    this.operation = operation;
    this.errno = errno;
    this.errnoName = name;
    this.detail = options.detail;
    this.position = options.position;
  }

  /** Wraps an error thrown by the native addon (it carries `errno`, `syscall` and `reason`). */
  static fromNative(operation: string, err: unknown): KernelError | NsmError {
    if (err instanceof Error) {
      const { errno, syscall, reason } = err as { errno?: unknown; syscall?: unknown; reason?: unknown };
      if (typeof errno === 'number') {
        const detail =
          typeof syscall === 'string' && typeof reason === 'string' ? `${syscall}: ${reason}` : err.message;
        return new KernelError(operation, errno, { detail, cause: err });
      }
    }
    return NsmError.from(err, Code.INTERNAL);
  }
}

/** The extended-ack text the kernel gives when no driver registers the requested link kind. */
const UNKNOWN_KIND = /unknown device type/i;

/**
 * Rewrites the error of a link creation for its caller: the batch position of the internal
 * read-back is noise there, and "EOPNOTSUPP: Unknown device type" becomes an error naming the
 * absent kernel feature, so operators see at once that this host cannot carry the mechanism.
 */
export function explainCreateError(err: KernelError, kind: string): KernelError {
  // Kernels built without extended acks give no text; EOPNOTSUPP on create then still means this.
  const missing =
    err.errnoName === 'EOPNOTSUPP' && (err.detail === undefined || UNKNOWN_KIND.test(err.detail));
  const detail = missing
    ? `${err.detail ?? 'Unknown device type'} (the kernel lacks the "${kind}" link type: module not built or not loadable)`
    : err.detail;
  return new KernelError(err.operation, err.errno, { cause: err, ...(detail ? { detail } : {}) });
}

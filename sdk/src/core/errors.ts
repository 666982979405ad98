/** gRPC status codes: the one vocabulary of failure across the SDK and on the wire. */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

const codeNames = new Map<number, string>(Object.entries(Code).map(([name, code]) => [code, name]));

/** Whether `code` is a gRPC status code. Usage: `isCode(status.code) ? status.code : Code.UNKNOWN`. */
export function isCode(code: number): code is Code {
  return codeNames.has(code);
}

/** The name of a status code, e.g. `NOT_FOUND`. */
export function codeName(code: number): string {
  return codeNames.get(code) ?? `CODE_${code}`;
}

/**
 * The SDK's one error type: a message for humans, a gRPC status code for machines, and a cause.
 * Usage: `throw new NsmError(Code.NOT_FOUND, 'network service "x" is not found')`.
 */
export class NsmError extends Error {
  override readonly name = 'NsmError';
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** Converts anything thrown into an NsmError, keeping codes of gRPC errors and abort reasons. */
  static from(err: unknown, fallback: Code = Code.UNKNOWN): NsmError {
    if (err instanceof NsmError) return err;
    if (err instanceof Error) {
      const code = (err as { code?: unknown }).code;
      if (err.name === 'AbortError' || err.name === 'TimeoutError') {
        return new NsmError(
          err.name === 'TimeoutError' ? Code.DEADLINE_EXCEEDED : Code.CANCELLED,
          err.message,
          {
            cause: err,
          },
        );
      }
      if (typeof code === 'number' && codeNames.has(code)) {
        const details = (err as { details?: unknown }).details;
        return new NsmError(code as Code, typeof details === 'string' && details ? details : err.message, {
          cause: err,
        });
      }
      return new NsmError(fallback, err.message, { cause: err });
    }
    return new NsmError(fallback, String(err));
  }
}

/** Shorthand for an INVALID_ARGUMENT error. */
export function invalidArgument(message: string): NsmError {
  return new NsmError(Code.INVALID_ARGUMENT, message);
}

/** Test helpers: the NsmError a call throws or a promise rejects with (anything else fails the test). */
import { NsmError } from '../core/errors.js';

/** The NsmError `fn` throws. Usage: `expect(errorOf(() => parseCidr('x')).code).toBe(Code.INVALID_ARGUMENT)`. */
export function errorOf(fn: () => unknown): NsmError {
  try {
    fn();
  } catch (err) {
    if (err instanceof NsmError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

/** The NsmError `p` rejects with. Usage: `expect((await rejectionOf(handler.request(ctx, req))).code).toBe(...)`. */
export async function rejectionOf(p: Promise<unknown>): Promise<NsmError> {
  const err: unknown = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!(err instanceof NsmError)) throw err instanceof Error ? err : new Error(String(err));
  return err;
}

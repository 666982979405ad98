/** Structured logging: pino everywhere, one root logger per process, children per call. */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * A process logger. Level from `NSM_LOG_LEVEL` (default `info`); JSON to stderr so stdout stays free
 * for command output. Usage: `const log = createLogger('manager')`.
 */
export function createLogger(name: string, level = process.env['NSM_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ name, level: level.toLowerCase(), base: { pid: process.pid } }, pino.destination(2));
}

/** A logger that discards everything: the default in library contexts and tests. */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * The common life of a daemon: read the configuration (usage and exit 2 when it is bad), start, log,
 * and close cleanly on SIGTERM or SIGINT (exit 0), or exit 1 when start-up fails.
 */
import { createLogger, type Logger } from '../core/log.js';
import { ConfigError } from './env/env.js';

/** Runs a daemon. Usage: `await runDaemon('nsmgr', usage, readConfig, (config, log) => start(config, { log }))`. */
export async function runDaemon<C extends { logLevel: string; name?: string }>(
  name: string,
  usage: string,
  readConfig: () => C,
  start: (config: C, log: Logger) => Promise<{ close(): Promise<void> }>,
): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(usage);
    return;
  }
  let config: C;
  try {
    config = readConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${name}: ${err.message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  // Named after this instance (NSM_NAME, e.g. forwarder-node-1): one `name` per line, never two.
  const log = createLogger(config.name ?? name, config.logLevel);
  // Listen for signals before starting: a stop asked for during start-up (registration, say) is not lost.
  let signalled: string | undefined;
  let running: { close(): Promise<void> } | undefined;
  let stopping = false;
  const stop = (signal: string): void => {
    signalled ??= signal;
    if (!running || stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stopping failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    running = await start(config, log);
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    process.exitCode = 1;
    return;
  }
  if (signalled) stop(signalled);
}

#!/usr/bin/env node
/**
 * The registry daemon: configuration from the environment, a pino logger, the in-memory registry
 * served on NSM_LISTEN_ON. Exits 2 on a bad configuration, 1 when it cannot serve, 0 on SIGTERM/SIGINT.
 */
import { createLogger } from '@nsm-ts/sdk/core';
import { formatDuration } from '@nsm-ts/sdk/tools';
import { ConfigError, parseRegistryConfig, usage } from './config.js';
import { startRegistry } from './server.js';

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  let config;
  try {
    config = parseRegistryConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n\n${usage}`);
    return 2;
  }
  const log = createLogger(config.name, config.logLevel);
  // Listen for signals before starting, so a stop request during startup is not lost.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  let running;
  try {
    running = await startRegistry(config, { log });
  } catch (err) {
    log.fatal({ err, listenOn: config.listenOn }, 'cannot serve the registry');
    return 1;
  }
  log.info(
    {
      urls: running.urls,
      expirePeriod: formatDuration(config.expirePeriodMs),
      metrics: running.metricsUrl ?? 'off',
    },
    'registry serving',
  );
  const signal = await stopped;
  log.info({ signal }, 'shutting down');
  await running.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `registry failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);

#!/usr/bin/env node
/** The manager daemon (nsmgr). Configuration: see `usage` in config.ts. */
import { runDaemon } from '../../sdk/src/tools/daemon.js';
import { readManagerConfig, usage } from './config.js';
import { startManager } from './manager.js';

await runDaemon(
  'nsmgr',
  usage,
  () => readManagerConfig(),
  (config, log) => startManager(config, { log }),
);

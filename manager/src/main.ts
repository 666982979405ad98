#!/usr/bin/env node
/** The manager daemon (nsmgr). Configuration: see `usage` in config.ts. */
import { runDaemon } from '@nsm-ts/sdk/tools';
import { readManagerConfig, usage } from './config.js';
import { startManager } from './manager.js';

await runDaemon(
  'nsmgr',
  usage,
  () => readManagerConfig(),
  (config, log) => startManager(config, { log }),
);

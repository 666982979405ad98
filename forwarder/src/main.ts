#!/usr/bin/env node
/** The forwarder daemon: kernel wires (veth, VXLAN) for the connections of its node. See config.ts. */
import { runDaemon } from '@nsm-ts/sdk/tools';
import { readForwarderConfig, usage } from './config.js';
import { startForwarder } from './forwarder.js';
import { createKernelDataplane } from './mechanisms/dataplane.js';
import { openSriovPool } from './sriov/index.js';

await runDaemon(
  'forwarder',
  usage,
  () => readForwarderConfig(),
  async (config, log) => {
    // The owner mark on built interfaces: a restarted forwarder adopts or sweeps only its own.
    const owner = config.clusterName ? `${config.clusterName}/${config.name}` : config.name;
    const sriov = config.sriov.configFile ? openSriovPool(config.sriov) : undefined;
    if (sriov) log.info({ pools: sriov.names, vfs: sriov.tokens().length }, 'SR-IOV pools ready');
    const dataplane = await createKernelDataplane({
      name: owner,
      tunnelIp: config.tunnelIp,
      vxlanPort: config.vxlanPort,
      log,
      ...(sriov ? { sriov } : {}),
    });
    try {
      return await startForwarder(config, { log, dataplane });
    } catch (err) {
      dataplane.close();
      throw err;
    }
  },
);

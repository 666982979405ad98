/** Starting the mesh daemons of a lab: the registry on the fabric, a manager and a forwarder per node. */
import { createContext } from '../../../sdk/src/core/context.js';
import { dial } from '../../../sdk/src/grpc/client.js';
import { MANAGER_PORT, REGISTRY_PORT, type Lab, type LabProcess } from './lab.js';
import { startInNetns } from './processes.js';
import { scripts } from './scripts.js';
import { REGISTRY_IP, tunnelIp } from './topology.js';
import { waitFor } from './wait.js';

/** Waits until the gRPC server at `url` answers its health check. */
export async function waitHealthy(url: string, what: string, timeoutMs = 20_000): Promise<void> {
  const client = dial(url, { dialTimeoutMs: 200 });
  try {
    await waitFor(what, timeoutMs, () =>
      client.health(createContext({ deadline: Date.now() + 500 })).then(
        (s) => (s === 'SERVING' ? true : undefined),
        () => undefined,
      ),
    );
  } finally {
    client.close();
  }
}

/** The registry URL on the fabric (what managers use). */
export const registryFabricUrl = `tcp://${REGISTRY_IP}:${REGISTRY_PORT}`;

/** Starts the registry in the fabric namespace. */
export async function startRegistry(lab: Lab, logLevel: string): Promise<LabProcess> {
  const proc = await startInNetns({
    name: 'registry',
    netns: lab.netns('fabric'),
    script: scripts.registry,
    log: lab.log('registry'),
    lab: lab.name,
    env: {
      NSM_NAME: 'registry',
      NSM_LISTEN_ON: `${registryFabricUrl},${lab.socket('registry')}`,
      NSM_LOG_LEVEL: logLevel,
    },
  });
  await waitHealthy(lab.socket('registry'), 'the registry');
  return proc;
}

/** Starts node `index`'s manager and forwarder inside its namespace. */
export async function startNode(
  lab: Lab,
  node: string,
  index: number,
  logLevel: string,
): Promise<LabProcess[]> {
  const common = {
    NODE_NAME: node,
    CLUSTER_NAME: `lab-${lab.name}`,
    NSM_LOG_LEVEL: logLevel,
    NSM_TUNNEL_IP: tunnelIp(index),
  };
  const managerUrl = lab.socket(`nsmgr-${node}`);
  const manager = await startInNetns({
    name: `nsmgr-${node}`,
    netns: lab.netns(node),
    script: scripts.manager,
    log: lab.log(`nsmgr-${node}`),
    lab: lab.name,
    env: {
      ...common,
      NSM_NAME: `nsmgr-${node}`,
      NSM_LISTEN_ON: `${managerUrl},tcp://${tunnelIp(index)}:${MANAGER_PORT}`,
      NSM_REGISTRY_URL: registryFabricUrl,
    },
  });
  await waitHealthy(managerUrl, `the manager of ${node}`);
  const forwarder = await startInNetns({
    name: `forwarder-${node}`,
    netns: lab.netns(node),
    script: scripts.forwarder,
    log: lab.log(`forwarder-${node}`),
    lab: lab.name,
    env: {
      ...common,
      NSM_NAME: `forwarder-${node}`,
      NSM_LISTEN_ON: lab.socket(`forwarder-${node}`),
      NSM_CONNECT_TO: managerUrl,
    },
  });
  await waitHealthy(lab.socket(`forwarder-${node}`), `the forwarder of ${node}`);
  return [manager, forwarder];
}

/**
 * The mesh daemons of a lab: the registry on the fabric, a manager and a forwarder per node. They
 * run under the lab's supervisor; these are their specs and the start-up order `nsm up` follows.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createContext } from '@nsm-ts/sdk/core';
import { EMULATED_VFS, type LabSriov } from '../manifests/sriov.js';
import { componentId, identityEnv, labDial } from './identities.js';
import { MANAGER_PORT, METRICS_PORTS, REGISTRY_PORT, type Lab } from './lab.js';
import { scripts } from './scripts.js';
import { addComponent } from './supervisor/control.js';
import type { ComponentSpec } from './supervisor/spec.js';
import { PHYSNET_BRIDGE, REGISTRY_IP, tunnelIp } from './topology.js';
import { waitFor } from './wait.js';

/** Waits until the gRPC server at `url` answers its health check (over mTLS in a secure lab). */
export async function waitHealthy(lab: Lab, url: string, what: string, timeoutMs = 20_000): Promise<void> {
  const client = await labDial(lab, url, { dialTimeoutMs: 200 });
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

/** The registry's spec: in the fabric namespace, on the fabric and on a unix socket. */
export function registrySpec(lab: Lab, logLevel: string, secure: boolean): ComponentSpec {
  return {
    name: 'registry',
    kind: 'registry',
    ...(secure ? { identity: componentId('registry', 'registry') } : {}),
    netns: lab.netns('fabric'),
    script: scripts.registry,
    log: lab.log('registry'),
    restart: 'Always',
    env: {
      NSM_NAME: 'registry',
      NSM_LISTEN_ON: `${registryFabricUrl},${lab.socket('registry')}`,
      NSM_LOG_LEVEL: logLevel,
      NSM_METRICS_ADDR: `127.0.0.1:${METRICS_PORTS.registry}`,
      ...identityEnv(lab, 'registry', secure),
    },
  };
}

/** Where a node's emulated SR-IOV NICs are, and the config file the forwarders read. */
export function sriovPaths(lab: Lab, node: string): { root: string; vfioDir: string; config: string } {
  const dir = join(lab.dir, 'sriov');
  return { root: join(dir, node, 'sys'), vfioDir: join(dir, node, 'vfio'), config: join(dir, 'config.yaml') };
}

/** The spec of a node's emulated SR-IOV NICs (the PFs of the lab's SR-IOV config, in its namespace). */
export function emulatorSpec(lab: Lab, node: string, sriov: LabSriov): ComponentSpec {
  const paths = sriovPaths(lab, node);
  const pfs = sriov.config.physicalFunctions.map((pf) => ({
    address: pf.address,
    driver: pf.pfKernelDriver,
    vfDriver: pf.vfKernelDriver,
    vfs: EMULATED_VFS,
  }));
  return {
    name: `sriov-${node}`,
    kind: 'emulator',
    node,
    netns: lab.netns(node),
    script: scripts.sriovEmulator,
    log: lab.log(`sriov-${node}`),
    // Its tree and stand-ins are the node's hardware: it is not restarted under a running forwarder.
    restart: 'Never',
    env: {
      NSM_SYSFS_ROOT: paths.root,
      NSM_VFIO_DIR: paths.vfioDir,
      NSM_NETNS_NAME: lab.netns(node),
      NSM_SRIOV_EMULATE: JSON.stringify(pfs),
      // Every PF is cabled to the lab's physical network, where the VFs of all nodes meet.
      NSM_SRIOV_UPLINK: `${lab.netns('fabric')}/${PHYSNET_BRIDGE}`,
    },
  };
}

/** Starts a node's emulated NICs and waits until their tree is built. */
export async function startEmulator(lab: Lab, spec: ComponentSpec): Promise<void> {
  await addComponent(lab, spec);
  const ready = join(spec.env['NSM_SYSFS_ROOT'] ?? '', '.ready');
  await waitFor(`the emulated SR-IOV NICs of ${spec.node ?? ''}`, 20_000, () =>
    existsSync(ready) ? true : undefined,
  );
}

/** The specs of node `index`'s manager and forwarder, in its namespace (metrics on its loopback, spans in the lab's trace files). */
export function nodeSpecs(
  lab: Lab,
  node: string,
  index: number,
  logLevel: string,
  secure: boolean,
  sriov?: LabSriov,
): ComponentSpec[] {
  const common = {
    NODE_NAME: node,
    CLUSTER_NAME: `lab-${lab.name}`,
    NSM_LOG_LEVEL: logLevel,
    NSM_TUNNEL_IP: tunnelIp(index),
  };
  const managerUrl = lab.socket(`nsmgr-${node}`);
  const base = { node, netns: lab.netns(node), restart: 'Always' } as const;
  return [
    {
      ...base,
      name: `nsmgr-${node}`,
      kind: 'manager',
      ...(secure ? { identity: componentId('manager', `nsmgr-${node}`, node) } : {}),
      script: scripts.manager,
      log: lab.log(`nsmgr-${node}`),
      env: {
        ...common,
        ...identityEnv(lab, `nsmgr-${node}`, secure),
        NSM_NAME: `nsmgr-${node}`,
        NSM_LISTEN_ON: `${managerUrl},tcp://${tunnelIp(index)}:${MANAGER_PORT}`,
        NSM_REGISTRY_URL: registryFabricUrl,
        NSM_METRICS_ADDR: `127.0.0.1:${METRICS_PORTS.manager}`,
        NSM_TRACE_FILE: lab.traceFile(`nsmgr-${node}`),
      },
    },
    {
      ...base,
      name: `forwarder-${node}`,
      kind: 'forwarder',
      ...(secure ? { identity: componentId('forwarder', `forwarder-${node}`, node) } : {}),
      script: scripts.forwarder,
      log: lab.log(`forwarder-${node}`),
      env: {
        ...common,
        ...identityEnv(lab, `forwarder-${node}`, secure),
        NSM_NAME: `forwarder-${node}`,
        NSM_LISTEN_ON: lab.socket(`forwarder-${node}`),
        NSM_CONNECT_TO: managerUrl,
        // Netlink batches and data-plane probes wait on libuv pool threads: more than the default 4.
        UV_THREADPOOL_SIZE: '16',
        NSM_METRICS_ADDR: `127.0.0.1:${METRICS_PORTS.forwarder}`,
        NSM_TRACE_FILE: lab.traceFile(`forwarder-${node}`),
        ...(sriov
          ? {
              NSM_SRIOV_CONFIG_FILE: sriovPaths(lab, node).config,
              NSM_SYSFS_ROOT: sriovPaths(lab, node).root,
              NSM_VFIO_DIR: sriovPaths(lab, node).vfioDir,
            }
          : {}),
      },
    },
  ];
}

/** Starts a daemon under the supervisor and waits until its unix socket answers the health check. */
export async function startDaemon(lab: Lab, spec: ComponentSpec, what: string): Promise<void> {
  await addComponent(lab, spec);
  await waitHealthy(lab, lab.socket(spec.name), what);
}

/** The kernel data plane as the forwarder daemon plugs it in. */
import type { NetworkServiceElement } from '@nsm-ts/sdk/core';
import type { Registry } from '@nsm-ts/sdk/metrics';
import type { SriovPool } from '../sriov/index.js';
import { type KernelDeps, type KernelDepsOptions, createKernelDeps } from './deps.js';
import { interfaceMetrics } from './interface-metrics.js';
import { kernelMechanism } from './kernel.js';
import { memifMechanism } from './memif.js';
import { noopMechanism } from './noop.js';
import { returnStrayVfs } from './sriov.js';
import { vlanMechanism } from './sriov-remote.js';
import { vfioMechanism } from './vfio.js';
import { vxlanMechanism } from './vxlan.js';

/** Matches `ForwarderDataplane` of forwarder.ts, plus the deps for inspection. */
export interface KernelDataplane {
  /** Elements by mechanism type, for `mechanisms(...)` in the forwarder chain. */
  readonly mechanisms: Record<string, NetworkServiceElement>;
  /** Local mechanism types offered to endpoints, best first. */
  readonly localTypes: string[];
  readonly deps: KernelDeps;
  /** Registers the interface counters of every wire, read through netlink at each scrape. */
  metrics(registry: Registry): void;
  /** Closes sockets and stops adoption; wires stay for the next run to adopt. */
  close(): void;
}

/**
 * Creates deps (scanning for a previous run's interfaces) and the KERNEL, MEMIF, VXLAN, VLAN (SR-IOV across nodes), VFIO and NOOP elements.
 * Usage: `startForwarder(config, { log, dataplane: await createKernelDataplane({ ...config, log }) })`.
 */
export async function createKernelDataplane(
  options: KernelDepsOptions & { sriov?: SriovPool },
): Promise<KernelDataplane> {
  const deps = await createKernelDeps(options);
  // VFs a previous run left in pods go back to the node first: the pool hands them out anew.
  if (options.sriov) await returnStrayVfs(deps);
  return {
    mechanisms: {
      KERNEL: kernelMechanism(deps, options.sriov ? { sriov: options.sriov } : {}),
      MEMIF: memifMechanism(deps),
      VXLAN: vxlanMechanism(deps),
      VLAN: vlanMechanism(deps, options.sriov ? { sriov: options.sriov } : {}),
      VFIO: vfioMechanism({ sriov: options.sriov }),
      NOOP: noopMechanism(),
    },
    localTypes: ['KERNEL', 'MEMIF', 'NOOP'],
    deps,
    metrics: (registry) => interfaceMetrics(registry, deps),
    close: () => deps.close(),
  };
}

/** An SR-IOV config that matches emulated hardware, for tests and the lab. */
import type { PhysicalFunctionConfig, SriovConfig } from '../config.js';
import type { FakeSriov } from './fake-sriov.js';

/** The pool names one PF offers. */
export interface FakePools {
  readonly capabilities?: readonly string[];
  readonly serviceDomains?: readonly string[];
}

/**
 * A config listing every PF of `hw` with its drivers, and the pools of `pools[i]` for the i-th PF
 * (`worker.domain/10G` by default).
 * Usage: `discoverSriov(fakeSriovConfig(hw, [{ capabilities: ['intel', '10G'] }]), { root: hw.root })`.
 */
export function fakeSriovConfig(
  hw: FakeSriov,
  pools: readonly FakePools[] = [],
  source = 'fake SR-IOV config',
): SriovConfig {
  const physicalFunctions = hw.pfs.map((pf, i): PhysicalFunctionConfig => ({
    address: pf.address,
    pfKernelDriver: pf.driver,
    vfKernelDriver: pf.vfDriver,
    capabilities: pools[i]?.capabilities ?? ['10G'],
    serviceDomains: pools[i]?.serviceDomains ?? ['worker.domain'],
  }));
  return { source, physicalFunctions };
}

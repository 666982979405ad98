/**
 * Rebinding PCI devices through sysfs, waiting for each step's effect: the kernel acts on the
 * write (synchronously on real hardware, a moment later in an emulation), and a `bind` write may
 * fail and still bind, so the `driver` link is the only truth.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { Code, NsmError } from '@nsm-ts/sdk/core';
import type { PciSysfs } from './pci-sysfs.js';
import { type PollOptions, pollUntil } from './wait.js';

/**
 * Binds one device to `driver` unless it already is: `driver/unbind`, `driver_override`,
 * `drivers/<driver>/bind`, each awaited. DEADLINE_EXCEEDED naming the step that did not happen.
 * Usage: `await bindDriver(sysfs, '0000:01:00.1', 'vfio-pci', { timeoutMs: 1000, pollMs: 10 })`.
 */
export async function bindDriver(
  sysfs: PciSysfs,
  address: string,
  driver: string,
  options: PollOptions,
): Promise<void> {
  const current = sysfs.driverOf(address);
  if (current === driver) return;
  if (current !== undefined) {
    const unbindError = attempt(() => sysfs.unbind(address));
    const gone = await pollUntil(() => (sysfs.driverOf(address) === undefined ? true : undefined), options);
    if (!gone) {
      throw timedOut(
        `${address} is still bound to ${current} ${options.timeoutMs} ms after writing it to ${sysfs.devicePath(address, 'driver', 'unbind')}`,
        unbindError,
      );
    }
  }
  sysfs.setDriverOverride(address, driver);
  const bindError = attempt(() => sysfs.bind(address, driver));
  const bound = await pollUntil(() => (sysfs.driverOf(address) === driver ? true : undefined), options);
  if (!bound) {
    const now = sysfs.driverOf(address) ?? 'no driver';
    throw timedOut(
      `${address} is not bound to ${driver} ${options.timeoutMs} ms after writing it to ${join(sysfs.driversDir, driver, 'bind')} (it has ${now})`,
      bindError,
    );
  }
}

/** Waits for the single netdev (`net/<ifname>`) a VF gets from its kernel driver. */
export async function waitForNetdev(sysfs: PciSysfs, address: string, options: PollOptions): Promise<string> {
  const netdev = await pollUntil(() => {
    const names = sysfs.netdevsOf(address);
    return names.length === 1 ? names[0] : undefined;
  }, options);
  if (netdev === undefined) {
    const names = sysfs.netdevsOf(address);
    const found = names.length === 0 ? 'none' : names.join(', ');
    throw timedOut(
      `VF ${address} has no single netdev ${options.timeoutMs} ms after binding it (${sysfs.devicePath(address, 'net')}: ${found})`,
    );
  }
  return netdev;
}

/** Waits for the VFIO group's device node. */
export async function waitForVfioGroup(vfioDir: string, group: number, options: PollOptions): Promise<void> {
  const path = join(vfioDir, String(group));
  const found = await pollUntil(() => (existsSync(path) ? true : undefined), options);
  if (!found)
    throw timedOut(
      `${path} did not appear ${options.timeoutMs} ms after binding IOMMU group ${group} to vfio-pci`,
    );
}

function attempt(write: () => void): unknown {
  try {
    write();
    return undefined;
  } catch (err) {
    return err;
  }
}

function timedOut(message: string, writeError?: unknown): NsmError {
  const detail = writeError instanceof Error ? `; the write failed: ${writeError.message}` : '';
  return new NsmError(Code.DEADLINE_EXCEEDED, `${message}${detail}`, { cause: writeError });
}

/** The VFIO device nodes a DPDK pod needs: `/dev/vfio/vfio` and `/dev/vfio/<group>`. */
import { statSync } from 'node:fs';
import { join } from 'node:path';

import { Code, NsmError } from '@nsm-ts/sdk/core';

/** Where VFIO's device nodes are. Injectable (an emulation makes them elsewhere). */
export const DEFAULT_VFIO_DIR = '/dev/vfio';

/** A character device's numbers, as a cgroup device rule or `mknod` takes them. */
export interface DeviceNumbers {
  readonly major: number;
  readonly minor: number;
}

/** What a pod needs to open a VF through VFIO. */
export interface VfioDevices {
  readonly group: number;
  /** `<vfioDir>/vfio`, the container device. */
  readonly containerPath: string;
  readonly container: DeviceNumbers;
  /** `<vfioDir>/<group>`. */
  readonly groupPath: string;
  readonly groupDevice: DeviceNumbers;
}

/**
 * Major and minor of a character device (`fs.statSync` rdev, decoded as glibc's major()/minor()).
 * FAILED_PRECONDITION when the path is missing or not a character device.
 * Usage: `deviceNumbers('/dev/vfio/vfio')` → `{ major: 10, minor: 196 }`.
 */
export function deviceNumbers(path: string): DeviceNumbers {
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new NsmError(Code.FAILED_PRECONDITION, `${path}: ${code}, expected a VFIO device node`, {
      cause: err,
    });
  }
  if (!st.isCharacterDevice()) {
    throw new NsmError(
      Code.FAILED_PRECONDITION,
      `${path} is not a character device, expected a VFIO device node`,
    );
  }
  const rdev = st.rdev;
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** The container and group nodes of an IOMMU group under `vfioDir`, with their numbers. */
export function vfioDevicesOf(vfioDir: string, group: number): VfioDevices {
  const containerPath = join(vfioDir, 'vfio');
  const groupPath = join(vfioDir, String(group));
  return {
    group,
    containerPath,
    container: deviceNumbers(containerPath),
    groupPath,
    groupDevice: deviceNumbers(groupPath),
  };
}

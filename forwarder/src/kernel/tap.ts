/**
 * Tap devices through the native addon: Linux creates them only with ioctl(TUNSETIFF) on
 * /dev/net/tun (rtnetlink refuses the "tun" kind). Everything else about a tap — alias, namespace
 * move, name, MTU, bridge port, deletion — is ordinary netlink.
 */
import { closeSync, constants, openSync } from 'node:fs';

import { Code, NsmError } from '@nsm-ts/sdk/core';
import { type NativeTapOptions, loadNetlinkAddon } from './native.js';
import { KernelError } from './netlink/errors.js';
import { validateIfName } from './netlink/validate.js';

/** The character device every tun/tap is made through. */
export const TUN_DEVICE = '/dev/net/tun';

/** Options of {@link createTap}. */
export type TapDeviceOptions = NativeTapOptions;

const EXPECTED =
  "expected the tun driver (CONFIG_TUN, modprobe tun) and /dev/net/tun in the forwarder's container (a character device 10:200)";

/** The error for a node that cannot make taps, from the errno code of opening `path`. */
function noTunDevice(path: string, code: string, cause: unknown): NsmError {
  const why =
    code === 'ENOENT'
      ? `${path} does not exist`
      : code === 'ENODEV' || code === 'ENXIO'
        ? `${path} has no driver behind it`
        : `${path} cannot be opened (${code})`;
  return new NsmError(Code.FAILED_PRECONDITION, `this node cannot create tap devices: ${why}; ${EXPECTED}`, {
    cause,
  });
}

/**
 * Throws FAILED_PRECONDITION unless `path` (the tun device) opens for reading and writing, which is
 * what creating a tap needs; nothing is created. Usage: `checkTunDevice()` before building.
 */
export function checkTunDevice(path = TUN_DEVICE): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR);
  } catch (err) {
    throw noTunDevice(path, (err as NodeJS.ErrnoException).code ?? 'EIO', err);
  }
  closeSync(fd);
}

/**
 * Creates a persistent tap `name` (no packet information header) in the namespace `nsPath` (null:
 * this thread's) and returns its interface index. A node without a usable /dev/net/tun gives
 * FAILED_PRECONDITION; other failures a KernelError (EBUSY: the name is taken).
 * Usage: `const index = createTap('nsm1a2b3c4d5e6', { nsPath: deps.nodeNs })`.
 */
export function createTap(name: string, options: TapDeviceOptions = {}): number {
  validateIfName(name, 'tap name');
  try {
    return loadNetlinkAddon().createTap(name, options);
  } catch (err) {
    const { syscall, code } = err as { syscall?: unknown; code?: unknown };
    if (syscall === `open(${TUN_DEVICE})` && typeof code === 'string') {
      throw noTunDevice(TUN_DEVICE, code, err);
    }
    throw KernelError.fromNative(`createTap(${name})`, err);
  }
}

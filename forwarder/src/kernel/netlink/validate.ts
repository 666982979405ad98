import { invalidArgument } from '@nsm-ts/sdk/core';
import { IFALIAS_MAX, IFNAME_MAX } from './constants.js';

// Checked here so that a bad name fails with a message about the name, not a bare EINVAL from a
// batch where the kernel cannot say which attribute it disliked.

/** Throws INVALID_ARGUMENT unless `name` is a valid Linux interface name (dev_valid_name). */
export function validateIfName(name: string, what = 'interface name'): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) throw invalidArgument(`${what} must not be empty`);
  if (bytes > IFNAME_MAX) {
    throw invalidArgument(`${what} "${name}" is ${bytes} bytes long; Linux allows at most ${IFNAME_MAX}`);
  }
  if (name === '.' || name === '..' || /[/:\s]/.test(name)) {
    throw invalidArgument(`${what} "${name}" contains '/', ':' or whitespace, or is "." or ".."`);
  }
}

/** Throws INVALID_ARGUMENT unless `alias` fits IFLA_IFALIAS. */
export function validateAlias(alias: string): void {
  const bytes = Buffer.byteLength(alias, 'utf8');
  if (bytes > IFALIAS_MAX)
    throw invalidArgument(`interface alias is ${bytes} bytes; at most ${IFALIAS_MAX} allowed`);
}

/** Throws INVALID_ARGUMENT unless `value` is an integer in [min, max]. */
export function validateInt(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${what} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/** Throws INVALID_ARGUMENT unless `ifindex` looks like an interface index. */
export function validateIfIndex(ifindex: number): void {
  validateInt(ifindex, 1, 0x7fffffff, 'interface index');
}

/** Throws INVALID_ARGUMENT unless `fd` is a plausible file descriptor. */
export function validateFd(fd: number, what: string): void {
  validateInt(fd, 0, 0x7fffffff, what);
}

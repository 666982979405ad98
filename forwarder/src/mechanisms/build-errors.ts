/** Errors of wire building, phrased for the operator, and the helpers that recognise them. */
import { randomBytes } from 'node:crypto';

import { Code, NsmError } from '@nsm-ts/sdk/core';
import { KernelError } from '../kernel/netlink/errors.js';
import type { EndTarget } from './wire.js';

/** The kernel already has a VXLAN device with this VNI and port in the node namespace. */
export class VniInUseError extends NsmError {
  constructor(
    readonly vni: number,
    cause: unknown,
  ) {
    super(Code.ALREADY_EXISTS, `VXLAN VNI ${vni} is already used by another device in the node namespace`, {
      cause,
    });
  }
}

/** A short random name for a link that is renamed before anyone sees it. */
export function temporaryName(): string {
  return `nsm${randomBytes(6).toString('hex')}`;
}

/** "the client pod's namespace /proc/12/ns/net" */
export function describeEnd(end: Pick<EndTarget, 'role' | 'nsPath'>): string {
  return `the ${end.role === 'nsc' ? 'client' : 'endpoint'} pod's namespace ${end.nsPath}`;
}

/** Whether `err` is the kernel refusing a name or index that is taken. */
export function isTaken(err: unknown): boolean {
  return err instanceof KernelError && (err.errnoName === 'EEXIST' || err.errnoName === 'EBUSY');
}

/** Position in its batch of the message a kernel error is about (0 for a single message). */
export function failedAt(err: unknown): number {
  return err instanceof KernelError ? (err.position?.index ?? 0) : -1;
}

/** The error for an interface name that is taken in a pod. */
export function nameTaken(end: Pick<EndTarget, 'role' | 'nsPath' | 'name'>, cause?: unknown): NsmError {
  return new NsmError(
    Code.ALREADY_EXISTS,
    `interface "${end.name}" already exists in ${describeEnd(end)}: request another name or remove it`,
    { cause },
  );
}

/** Wraps a failure while configuring an end so the message says where it happened. */
export function atEnd(end: Pick<EndTarget, 'role' | 'nsPath' | 'name'>, err: unknown): NsmError {
  const base = NsmError.from(err, Code.INTERNAL);
  return new NsmError(base.code, `configuring "${end.name}" in ${describeEnd(end)}: ${base.message}`, {
    cause: err,
  });
}

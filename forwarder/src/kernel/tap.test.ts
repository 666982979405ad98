import { afterEach, describe, expect, it } from 'vitest';

import { Code } from '@nsm-ts/sdk/core';
import { errorOf, isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { Netlink } from './netlink/netlink.js';
import { KernelError } from './netlink/errors.js';
import { createTap } from './tap.js';
import { NamespaceFixture } from './testing/netns-fixture.js';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/kernel/tap'), () => {
  const fx = new NamespaceFixture();
  afterEach(() => fx.cleanup());

  it('creates a persistent tap in the namespace asked for, with the queue mode and owner asked for', async () => {
    const ns = fx.add(`tap${process.pid}k`);
    const index = createTap('vm0', { nsPath: ns.path, multiQueue: true, owner: 107, group: 108 });
    const nl = Netlink.open(ns.path);
    fx.defer(() => nl.close());
    const link = await nl.getLink('vm0');
    expect(link.index).toBe(index);
    expect(link).toMatchObject({ kind: 'tun', up: false });
    expect(link.tun).toEqual({ type: 'tap', multiQueue: true, persist: true, owner: 107, group: 108 });
    // Persistent: it outlives the descriptor that made it, until deleted.
    await nl.deleteLink(index);
    expect(await nl.findLink('vm0')).toBeUndefined();
  });

  it('fails with EBUSY on a taken name instead of attaching to that device', () => {
    const ns = fx.add(`tap${process.pid}k`);
    createTap('vm0', { nsPath: ns.path });
    const err = errorOf(() => createTap('vm0', { nsPath: ns.path }));
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).errnoName).toBe('EBUSY');
    expect(err.message).toMatch(
      /createTap\(vm0\) failed: EBUSY: ioctl\(TUNSETIFF\): .*an interface of that name exists/,
    );
  });

  it('refuses a bad name, a bad id and a file that is not a namespace', () => {
    expect(errorOf(() => createTap('much-too-long-name')).code).toBe(Code.INVALID_ARGUMENT);
    expect(() => createTap('vm0', { owner: -2, nsPath: '/nonexistent' })).toThrow(/owner must be an id/);
    const notNs = errorOf(() => createTap('vm0', { nsPath: '/etc/hostname' }));
    expect(notNs.message).toMatch(
      /setns\(CLONE_NEWNET\): Invalid argument: the file is not a network namespace/,
    );
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Code, NsmError } from '@nsm-ts/sdk/core';
import { openTestNamespace } from '../testing/netlink-fixture.js';
import { NamespaceFixture, ipJson, randomSuffix } from '../testing/netns-fixture.js';
import { KernelError } from './errors.js';
import { Netlink } from './netlink.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/kernel/netlink/netlink-errors'), () => {
  async function rejection(p: Promise<unknown>): Promise<KernelError> {
    const err: unknown = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KernelError);
    return err as KernelError;
  }

  describe('Netlink: bad inputs fail clearly', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    it('rejects a namespace path that does not exist', () => {
      const path = `/run/netns/nsmt-missing-${randomSuffix()}`;
      expect(() => Netlink.open(path)).toThrow(KernelError);
      expect(() => Netlink.open(path)).toThrow(
        `Netlink.open(${path}) failed: ENOENT: open: No such file or directory`,
      );
    });

    it('rejects files that are not network namespaces', () => {
      const dir = mkdtempSync(join(tmpdir(), 'nsmt-'));
      try {
        const file = join(dir, 'not-a-namespace');
        writeFileSync(file, 'x');
        for (const path of [file, '/proc/self/ns/mnt']) {
          let caught: unknown;
          try {
            Netlink.open(path).close();
          } catch (err) {
            caught = err;
          }
          expect(caught).toBeInstanceOf(KernelError);
          expect((caught as KernelError).code).toBe(Code.INVALID_ARGUMENT);
          expect((caught as KernelError).message).toMatch(
            /^Netlink.open\(.*\) failed: EINVAL: setns\(CLONE_NEWNET\): Invalid argument: the file is not a network namespace$/,
          );
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('validates interface names before the kernel sees them', async () => {
      const ns = openTestNamespace(fx, 'v');
      const err: unknown = await ns.nl.createVeth('sixteen-chars-xx', 'peer0').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NsmError);
      expect((err as NsmError).code).toBe(Code.INVALID_ARGUMENT);
      expect((err as NsmError).message).toMatch(
        /"sixteen-chars-xx" is 16 bytes long; Linux allows at most 15/,
      );
      expect(ipJson<{ ifname: string }[]>(ns.name, 'link', 'show').map((l) => l.ifname)).toEqual(['lo']);
    });

    it('surfaces EEXIST for a duplicate name as ALREADY_EXISTS', async () => {
      const ns = openTestNamespace(fx, 'd');
      await ns.nl.createVeth('dup0', 'dup0p');
      const err = await rejection(ns.nl.createVeth('dup0', 'other0'));
      expect(err.errnoName).toBe('EEXIST');
      expect(err.code).toBe(Code.ALREADY_EXISTS);
      expect(err.message).toMatch(/^createVeth\(dup0, other0\) failed: EEXIST/);
    });

    it.each(['wireguard', 'vlan', 'geneve'])('says the kernel lacks the "%s" link kind', async (kind) => {
      const ns = openTestNamespace(fx, 'k');
      const err = await rejection(ns.nl.createLink('x0', kind));
      expect(err.errnoName).toBe('EOPNOTSUPP');
      expect(err.code).toBe(Code.UNIMPLEMENTED);
      expect(err.message).toContain(`the kernel lacks the "${kind}" link type`);
    });

    it('reports missing links as NOT_FOUND (ENODEV)', async () => {
      const ns = openTestNamespace(fx, 'm');
      const err = await rejection(ns.nl.deleteLink('nosuch0'));
      expect(err).toMatchObject({ errnoName: 'ENODEV', code: Code.NOT_FOUND });
      expect(err.message).toMatch(/^deleteLink\(nosuch0\) failed: ENODEV/);
      await expect(ns.nl.getLink(99999)).rejects.toThrow(/getLink\(99999\) failed: ENODEV/);
    });

    it('refuses work after close', async () => {
      const ns = fx.add('c');
      const nl = Netlink.open(ns.path);
      const pending = nl.listLinks();
      nl.close(); // closes after the request in flight settles
      expect((await pending).map((l) => l.name)).toEqual(['lo']);
      await expect(nl.listLinks()).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION });
    });
  });
});

import { readdirSync, readlinkSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { encodeBatch } from './netlink/batch.js';
import { listLinksRequest } from './netlink/link-requests.js';
import { parseMessages } from './netlink/message.js';
import { loadNetlinkAddon } from './native.js';
import { NamespaceFixture } from './testing/netns-fixture.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/kernel/native'), () => {
  /** The network namespace of every thread of this process, libuv pool threads included. */
  function threadNamespaces(): Set<string> {
    return new Set(
      readdirSync('/proc/self/task').map((tid) => readlinkSync(`/proc/self/task/${tid}/ns/net`)),
    );
  }

  describe('native netlink addon', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());
    const addon = loadNetlinkAddon();

    it('opens sockets inside a namespace without moving any thread of the process', async () => {
      const ns = fx.add('t');
      const own = readlinkSync('/proc/self/ns/net');
      const fds = Array.from({ length: 8 }, () => addon.openNetlinkInNamespace(ns.path));
      fx.defer(() => fds.forEach((fd) => addon.close(fd)));
      // Keep the pool busy at the same time, so pool threads exist while namespaces are entered.
      const replies = await Promise.all(
        fds.map((fd) => addon.transact(fd, encodeBatch([listLinksRequest()], 1).buffer)),
      );
      expect(threadNamespaces()).toEqual(new Set([own]));
      for (const reply of replies) {
        // Only the test namespace's loopback: the sockets really live there.
        expect(parseMessages(reply).filter((m) => m.type === 16)).toHaveLength(1);
      }
    });

    it('offers a synchronous transact', () => {
      const fd = addon.openNetlinkInNamespace(null);
      try {
        const reply = addon.transactSync(fd, encodeBatch([listLinksRequest()], 9).buffer);
        expect(parseMessages(reply).at(-1)).toMatchObject({ type: 3, seq: 9 }); // NLMSG_DONE
      } finally {
        addon.close(fd);
      }
    });

    it('refuses malformed batches and requests that would never be acknowledged', () => {
      const fd = addon.openNetlinkInNamespace(null);
      try {
        expect(() => addon.transactSync(fd, Buffer.alloc(7))).toThrow(/malformed netlink request batch/);
        const silent = encodeBatch([{ ...listLinksRequest(), dump: false }], 1).buffer;
        silent.writeUInt16LE(0x1, 6); // NLM_F_REQUEST only
        expect(() => addon.transactSync(fd, silent)).toThrow(/without NLM_F_ACK/);
      } finally {
        addon.close(fd);
      }
      expect(() => addon.close(fd)).toThrow(/EBADF/);
    });

    it('opens any socket inside a namespace and explains failures', () => {
      const ns = fx.add('s');
      const udp = addon.openSocketInNamespace(ns.path, 2, 2, 0); // AF_INET, SOCK_DGRAM
      addon.close(udp);
      expect(() => addon.openSocketInNamespace(ns.path, 4242, 2, 0)).toThrow(
        /openSocketInNamespace\(\/run\/netns\/nsmt-s.*\): socket\(4242, 2, 0\) failed: .*EAFNOSUPPORT/,
      );
      expect(() => addon.openSocketInNamespace('/etc/hostname', 2, 2, 0)).toThrow(
        /the file is not a network namespace/,
      );
      expect(() => addon.openSocketInNamespace(null, -1, 2, 0)).toThrow(/domain must not be negative/);
      expect(() => addon.pingOnce(0, '10.0.0.1', 5 as 4, 100)).toThrow(/family must be 4 or 6/);
      expect(() => addon.pingOnce(0, '10.0.0.1', 4, 100, 15)).toThrow(/size must be 16\.\.65000/);
      expect(() => addon.pingOnce(0, '10.0.0.1', 4, 100, 65001)).toThrow(/size must be 16\.\.65000/);
    });
  });
});

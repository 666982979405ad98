import { fstatSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Code } from '@nsm-ts/sdk/core';
import {
  closeNamespaceFd,
  findNamespaceByInode,
  nsInode,
  openNamespaceFd,
  parseInodeUrl,
  resolveNamespace,
} from './netns.js';
import { NamespaceFixture } from './testing/netns-fixture.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/kernel/netns'), () => {
  describe('inodeURL parsing', () => {
    it('accepts file URLs, plain paths and inode pairs', () => {
      expect(parseInodeUrl('file:///proc/42/ns/net')).toEqual({ kind: 'path', path: '/proc/42/ns/net' });
      expect(parseInodeUrl('file:///run/netns/pod%201')).toEqual({ kind: 'path', path: '/run/netns/pod 1' });
      expect(parseInodeUrl('/run/netns/pod1')).toEqual({ kind: 'path', path: '/run/netns/pod1' });
      expect(parseInodeUrl('inode://4/4026532265')).toEqual({ kind: 'inode', dev: 4, ino: 4026532265 });
    });

    it.each([
      '',
      'run/netns/x',
      'http://host/x',
      'inode://4',
      'inode://a/1',
      'file://remote-host/run/netns/x',
    ])('rejects %j as INVALID_ARGUMENT', (url) => {
      expect(() => parseInodeUrl(url)).toThrow(expect.objectContaining({ code: Code.INVALID_ARGUMENT }));
    });
  });

  describe('namespace resolution', () => {
    const fx = new NamespaceFixture();
    const dirs: string[] = [];
    afterEach(() => {
      dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
      fx.cleanup();
    });
    const tempDir = (): string => {
      const d = mkdtempSync(join(tmpdir(), 'nsmt-'));
      dirs.push(d);
      return d;
    };

    it('resolves inode:// to a named namespace and to a process namespace', () => {
      const ns = fx.add('r');
      const id = nsInode(ns.path);
      expect(resolveNamespace(`inode://${id.dev}/${id.ino}`)).toBe(ns.path);
      const own = nsInode('/proc/self/ns/net');
      const found = resolveNamespace(`inode://${own.dev}/${own.ino}`);
      expect(nsInode(found)).toEqual(own);
    });

    it('scans injected roots', () => {
      const run = tempDir();
      symlinkSync('/proc/self/ns/net', join(run, 'mine'));
      const id = nsInode('/proc/self/ns/net');
      expect(findNamespaceByInode(id, { runNetns: run, proc: tempDir() })).toBe(join(run, 'mine'));
      expect(
        findNamespaceByInode({ dev: id.dev, ino: id.ino + 1 }, { runNetns: run, proc: tempDir() }),
      ).toBeUndefined();
    });

    it('says NOT_FOUND for unknown inodes and missing files, INVALID_ARGUMENT for ordinary files', () => {
      expect(() => resolveNamespace('inode://4/1')).toThrow(
        expect.objectContaining({ code: Code.NOT_FOUND }),
      );
      expect(() => resolveNamespace('/run/netns/nsmt-none-here')).toThrow(
        expect.objectContaining({ code: Code.NOT_FOUND }),
      );
      const file = join(tempDir(), 'plain');
      writeFileSync(file, '');
      expect(() => resolveNamespace(`file://${file}`)).toThrow(/is not a namespace file/);
      expect(() => openNamespaceFd(file)).toThrow(expect.objectContaining({ code: Code.INVALID_ARGUMENT }));
    });

    it('opens a namespace descriptor for IFLA_NET_NS_FD, and closes it', () => {
      const ns = fx.add('o');
      const fd = openNamespaceFd(`file://${ns.path}`);
      const opened = fstatSync(fd);
      const file = statSync(ns.path);
      expect([opened.dev, opened.ino]).toEqual([file.dev, file.ino]);
      closeNamespaceFd(fd);
      expect(() => fstatSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    });
  });
});

/**
 * A pod owns the interface names it asks for: a restarted client (new connection id, same name)
 * replaces its earlier connection's interface, closing that connection down the path; links the
 * forwarder did not mark are never touched; a pod whose process changed is still found by its
 * namespace's identity.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';

import { createContext } from '@nsm-ts/sdk/core';
import { Code } from '@nsm-ts/sdk/core';
import { NamespaceFixture, ipIn, randomSuffix } from '../kernel/testing/netns-fixture.js';
import { formatAlias } from './alias.js';
import { type KernelDeps, createKernelDeps } from './deps.js';
import {
  clientRequest,
  endpointDouble,
  forwarderChain,
  localOffer,
  refreshOf,
  rejectionOf,
} from './testing/harness.js';
import { linksOf } from './testing/inspect.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/names'), () => {
  const ctx = createContext();

  describe('interface names in a pod', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    async function setup() {
      const nsc = fx.add('c');
      const nse = fx.add('e');
      const deps: KernelDeps = await createKernelDeps({
        name: `fwd-${randomSuffix()}`,
        tunnelIp: '',
        vxlanPort: 4789,
      });
      fx.defer(() => deps.close());
      const endpoint = endpointDouble({ nsPath: nse.path });
      return { nsc, nse, deps, endpoint, fwd: forwarderChain(deps, localOffer, endpoint) };
    }

    /** A process living in the pod's namespace (as its container would); resolves once it is inside. */
    async function podProcess(ns: { name: string; path: string }) {
      const child = spawn('ip', ['netns', 'exec', ns.name, 'sleep', '600'], { stdio: 'ignore' });
      fx.defer(() => void child.kill('SIGKILL'));
      const path = `/proc/${child.pid}/ns/net`;
      await expect.poll(() => inodeOf(path) === inodeOf(ns.path)).toBe(true);
      const kill = async (): Promise<void> => {
        child.kill('SIGKILL');
        await expect.poll(() => inodeOf(path)).toBeUndefined();
      };
      return { path, kill };
    }

    it('a restarted client asking for its name again replaces the old connection, closed down the path', async () => {
      const { nsc, nse, deps, endpoint, fwd } = await setup();
      await fwd.request(ctx, clientRequest('first-life', nsc.path, { name: 'nsm-1' }));
      expect(linksOf(nsc.name).map((l) => l.ifname)).toEqual(['nsm-1']);

      const second = await fwd.request(ctx, clientRequest('second-life', nsc.path, { name: 'nsm-1' }));
      expect(endpoint.closes).toBe(1);
      expect(linksOf(nsc.name).map((l) => [l.ifname, l.ifalias])).toEqual([
        ['nsm-1', formatAlias(deps.owner, 'second-life')],
      ]);
      expect(linksOf(nse.name)).toHaveLength(1);
      expect(deps.wires.has('first-life')).toBe(false);
      await fwd.close(ctx, second);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
    });

    it('replaces a link this forwarder marked for a connection it no longer knows (an earlier run)', async () => {
      const { nsc, nse, deps, fwd } = await setup();
      ipIn(nsc.name, 'link', 'add', 'nsm-1', 'type', 'veth', 'peer', 'name', 'old-peer');
      ipIn(nsc.name, 'link', 'set', 'nsm-1', 'alias', formatAlias(deps.owner, 'gone-long-ago'));
      const conn = await fwd.request(ctx, clientRequest('fresh', nsc.path, { name: 'nsm-1' }));
      expect(linksOf(nsc.name).map((l) => [l.ifname, l.ifalias])).toEqual([
        ['nsm-1', formatAlias(deps.owner, 'fresh')],
      ]);
      await fwd.close(ctx, conn);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
    });

    it.each([
      ['no mark', undefined],
      ['the mark of another forwarder', formatAlias('someone-else', 'their-conn')],
      ['an alias that is no mark at all', 'uplink to the lab router'],
    ])('never touches a link with %s: ALREADY_EXISTS, link kept', async (_what, alias) => {
      const { nsc, nse, endpoint, fwd } = await setup();
      ipIn(nsc.name, 'link', 'add', 'nsm-1', 'type', 'veth', 'peer', 'name', 'peer0');
      if (alias) ipIn(nsc.name, 'link', 'set', 'nsm-1', 'alias', alias);
      const err = await rejectionOf(fwd.request(ctx, clientRequest('c1', nsc.path, { name: 'nsm-1' })));
      expect(err.code).toBe(Code.ALREADY_EXISTS);
      expect(err.message).toContain('interface "nsm-1" already exists in the client pod\'s namespace');
      expect(endpoint.requests).toBe(0);
      expect(
        linksOf(nsc.name)
          .map((l) => l.ifname)
          .sort(),
      ).toEqual(['nsm-1', 'peer0']);
      expect(linksOf(nse.name)).toEqual([]);
    });

    it('an endpoint-side name held by another live connection is refused, not taken over', async () => {
      const nsc = fx.add('c');
      const nsc2 = fx.add('d');
      const nse = fx.add('e');
      const deps = await createKernelDeps({ name: `fwd-${randomSuffix()}`, tunnelIp: '', vxlanPort: 4789 });
      fx.defer(() => deps.close());
      const endpoint = endpointDouble({ nsPath: nse.path, name: 'eth1' });
      const fwd = forwarderChain(deps, localOffer, endpoint);
      const first = await fwd.request(ctx, clientRequest('a', nsc.path, { name: 'nsm-1' }));
      const err = await rejectionOf(fwd.request(ctx, clientRequest('b', nsc2.path, { name: 'nsm-1' })));
      expect(err.code).toBe(Code.ALREADY_EXISTS);
      expect(err.message).toContain('interface "eth1" already exists in the endpoint pod\'s namespace');
      // The refused request left nothing, and the first connection still has its wire.
      expect(linksOf(nsc2.name)).toEqual([]);
      expect(linksOf(nse.name).map((l) => l.ifname)).toEqual(['eth1']);
      expect(endpoint.closes).toBe(1); // the rollback of "b" at the endpoint
      await fwd.close(ctx, first);
    });

    it('keeps the wire of a pod whose process changed: the namespace is found by its identity', async () => {
      const { nsc, nse, fwd } = await setup();
      const before = await podProcess(nsc);
      const conn = await fwd.request(ctx, clientRequest('moving', before.path, { name: 'nsm-1' }));
      const index = linksOf(nsc.name)[0]?.ifindex;
      await before.kill();

      const after = await podProcess(nsc);
      const refreshed = refreshOf(conn);
      refreshed.connection!.mechanism!.parameters['inodeURL'] = `file://${after.path}`;
      await fwd.request(ctx, refreshed);
      // Neither rebuilt nor duplicated.
      expect(linksOf(nsc.name).map((l) => [l.ifname, l.ifindex])).toEqual([['nsm-1', index]]);
      expect(linksOf(nse.name)).toHaveLength(1);
      await after.kill();
      // Closed after every process of the pod is gone: still found and removed.
      await fwd.close(ctx, conn);
      expect([...linksOf(nsc.name), ...linksOf(nse.name)]).toEqual([]);
    });
  });

  /** The inode of a namespace file, or undefined when it is gone. */
  function inodeOf(path: string): number | undefined {
    try {
      return statSync(path).ino;
    } catch {
      return undefined;
    }
  }

  describe('a request in state RESELECT_REQUESTED', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    it('closes the old wire first and builds it anew, also with the only endpoint there is', async () => {
      const nsc = fx.add('c');
      const nse = fx.add('e');
      const deps = await createKernelDeps({ name: `fwd-${randomSuffix()}`, tunnelIp: '', vxlanPort: 4789 });
      fx.defer(() => deps.close());
      const endpoint = endpointDouble({ nsPath: nse.path });
      const fwd = forwarderChain(deps, localOffer, endpoint);
      const conn = await fwd.request(ctx, clientRequest('re', nsc.path, { name: 'nsm-1' }));
      const before = linksOf(nsc.name)[0]?.ifindex;
      const again = refreshOf(conn);
      again.connection!.state = 'RESELECT_REQUESTED';
      again.connection!.network_service_endpoint_name = '';
      await fwd.request(ctx, again);
      expect(endpoint.closes).toBe(1);
      expect(endpoint.requests).toBe(2);
      const links = linksOf(nsc.name);
      expect(links).toHaveLength(1);
      expect(links[0]?.ifindex).not.toBe(before);
      expect(linksOf(nse.name)).toHaveLength(1);
    });
  });
});

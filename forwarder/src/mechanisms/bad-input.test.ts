import { execFileSync } from 'node:child_process';

import { afterEach, describe, expect, it } from 'vitest';

import { newMechanism } from '@nsm-ts/sdk/api';
import { createContext } from '@nsm-ts/sdk/core';
import { Code } from '@nsm-ts/sdk/core';
import { NamespaceFixture, ipIn, randomSuffix } from '../kernel/testing/netns-fixture.js';
import { type KernelDeps, type KernelDepsOptions, createKernelDeps } from './deps.js';
import { TUNNEL_A, TUNNEL_B, twoNodes } from './testing/fabric.js';
import {
  type EndpointOptions,
  clientRequest,
  endpointDouble,
  forwarderChain,
  localOffer,
  rejectionOf,
  remoteHop,
  tunnelOffer,
} from './testing/harness.js';
import { linksOf } from './testing/inspect.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/bad-input'), () => {
  const ctx = createContext();

  describe('bad input: a clear error, and nothing half-built', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    async function deps(options: Partial<KernelDepsOptions> = {}): Promise<KernelDeps> {
      const d = await createKernelDeps({
        name: `fwd-${randomSuffix()}`,
        tunnelIp: '',
        vxlanPort: 4789,
        adopt: false,
        ...options,
      });
      fx.defer(() => d.close());
      return d;
    }

    async function local(endpoint: Partial<EndpointOptions> = {}) {
      const nsc = fx.add('c');
      const nse = fx.add('e');
      const nseDouble = endpointDouble({ nsPath: nse.path, name: 'nse0', ...endpoint });
      const fwd = forwarderChain(await deps(), localOffer, nseDouble);
      const untouched = () => {
        expect(linksOf(nsc.name)).toEqual([]);
        expect(linksOf(nse.name).filter((l) => l.ifname !== 'nse0' || l.ifalias)).toEqual([]);
      };
      return { nsc, nse, endpoint: nseDouble, fwd, untouched };
    }

    it('rejects a client namespace that does not exist or is not a namespace, before the next hop', async () => {
      const { endpoint, fwd } = await local();
      const missing = await rejectionOf(
        fwd.request(ctx, clientRequest('b-1', `/run/netns/nsmt-missing-${randomSuffix()}`)),
      );
      expect(missing.code).toBe(Code.NOT_FOUND);
      expect(missing.message).toMatch(/the client's inodeURL file:\/\/\/run\/netns\/nsmt-missing-.*ENOENT/);
      const notNs = await rejectionOf(fwd.request(ctx, clientRequest('b-1', '/etc/hostname')));
      expect(notNs.code).toBe(Code.INVALID_ARGUMENT);
      expect(notNs.message).toMatch(/is not a namespace file/);
      const noUrl = await rejectionOf(
        fwd.request(
          ctx,
          clientRequest('b-1', '', { mechanism: newMechanism('KERNEL', 'LOCAL', { name: 'x' }) }),
        ),
      );
      expect(noUrl.message).toMatch(/has no inodeURL/);
      expect(endpoint.requests).toBe(0);
    });

    it('rejects a name longer than 15 bytes and a name taken in the client pod, before the next hop', async () => {
      const { nsc, endpoint, fwd } = await local();
      const long = await rejectionOf(
        fwd.request(ctx, clientRequest('b-2', nsc.path, { name: 'a-very-long-ifname' })),
      );
      expect(long.code).toBe(Code.INVALID_ARGUMENT);
      expect(long.message).toMatch(/"a-very-long-ifname" is 18 bytes long/);
      ipIn(nsc.name, 'link', 'add', 'nsc0', 'type', 'veth', 'peer', 'name', 'x0');
      const taken = await rejectionOf(fwd.request(ctx, clientRequest('b-2', nsc.path, { name: 'nsc0' })));
      expect(taken.code).toBe(Code.ALREADY_EXISTS);
      expect(taken.message).toMatch(/interface "nsc0" already exists in the client pod's namespace/);
      expect(endpoint.requests).toBe(0);
      expect(
        linksOf(nsc.name)
          .map((l) => l.ifname)
          .sort(),
      ).toEqual(['nsc0', 'x0']);
    });

    it('rejects a context MTU outside 68..65535 before the next hop', async () => {
      const { nsc, endpoint, fwd } = await local();
      for (const mtu of [50, 70000]) {
        const err = await rejectionOf(
          fwd.request(ctx, clientRequest('b-3', nsc.path, { name: 'nsc0', mtu })),
        );
        expect(err.code).toBe(Code.INVALID_ARGUMENT);
        expect(err.message).toMatch(
          new RegExp(`context MTU is ${mtu}: expected an integer in 68\\.\\.65535`),
        );
      }
      expect(endpoint.requests).toBe(0);
    });

    it('refuses a mechanism kind this chain does not build (VLAN, here without its element) and an endpoint answering one', async () => {
      const { nsc, endpoint, fwd, untouched } = await local({
        mutate: (c) => void (c.mechanism = newMechanism('VFIO', 'LOCAL')),
      });
      const vlan = await rejectionOf(
        fwd.request(
          ctx,
          clientRequest('b-4', nsc.path, { mechanism: newMechanism('VLAN', 'REMOTE', { 'vlan-id': '7' }) }),
        ),
      );
      expect(vlan.code).toBe(Code.UNIMPLEMENTED);
      expect(vlan.message).toMatch(/no supported mechanism in \[VLAN\]/);
      expect(endpoint.requests).toBe(0);
      const vfio = await rejectionOf(fwd.request(ctx, clientRequest('b-4', nsc.path, { name: 'nsc0' })));
      expect(vfio.code).toBe(Code.UNIMPLEMENTED);
      expect(vfio.message).toMatch(/the next hop chose mechanism VFIO/);
      expect(endpoint.closes).toBe(1);
      untouched();
    });

    it('closes the next hop and removes the half-built wire when the endpoint pod has the name taken', async () => {
      const { nsc, nse, endpoint, fwd } = await local();
      ipIn(nse.name, 'link', 'add', 'nse0', 'type', 'veth', 'peer', 'name', 'y0');
      const err = await rejectionOf(fwd.request(ctx, clientRequest('b-5', nsc.path, { name: 'nsc0' })));
      expect(err.code).toBe(Code.ALREADY_EXISTS);
      expect(err.message).toMatch(/interface "nse0" already exists in the endpoint pod's namespace/);
      expect(endpoint.closes).toBe(1);
      expect(linksOf(nsc.name)).toEqual([]);
      expect(
        linksOf(nse.name)
          .map((l) => l.ifname)
          .sort(),
      ).toEqual(['nse0', 'y0']);
    });

    it('closes the next hop and removes the wire when the endpoint answers a bad IP context', async () => {
      const { nsc, endpoint, fwd, untouched } = await local({
        mutate: (c) => void c.context?.ip_context?.src_ip_addrs.splice(0, 1, '10.0.0.300/32'),
      });
      const err = await rejectionOf(fwd.request(ctx, clientRequest('b-6', nsc.path, { name: 'nsc0' })));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toMatch(/invalid IP address "10\.0\.0\.300": expected IPv4/);
      expect(endpoint.closes).toBe(1);
      untouched();
    });

    it('refuses VXLAN without a tunnel IP on either side, leaving nothing on any node or pod', async () => {
      const { nodeA, nodeB } = twoNodes(fx);
      const nsc = fx.add('c');
      const nse = fx.add('e');
      const endpoint = endpointDouble({ nsPath: nse.path, name: 'nse0' });
      // The receiving forwarder has no tunnel IP: it says so before going on.
      const noIpB = forwarderChain(await deps({ nodeNs: nodeB.path }), localOffer, endpoint);
      const fwdA = forwarderChain(
        await deps({ nodeNs: nodeA.path, tunnelIp: TUNNEL_A }),
        tunnelOffer(TUNNEL_A),
        remoteHop(noIpB),
      );
      const atB = await rejectionOf(fwdA.request(ctx, clientRequest('b-7', nsc.path, { name: 'nsc0' })));
      expect(atB.code).toBe(Code.FAILED_PRECONDITION);
      expect(atB.message).toMatch(/a VXLAN tunnel reached this forwarder, but it has no tunnel IP/);
      expect(endpoint.requests).toBe(0);
      // The sending forwarder has none: B's device is built, then removed when A gives up.
      const fwdB = forwarderChain(
        await deps({ nodeNs: nodeB.path, tunnelIp: TUNNEL_B }),
        localOffer,
        endpoint,
      );
      const noIpA = forwarderChain(
        await deps({ nodeNs: nodeA.path }),
        tunnelOffer(TUNNEL_A),
        remoteHop(fwdB),
      );
      const atA = await rejectionOf(noIpA.request(ctx, clientRequest('b-8', nsc.path, { name: 'nsc0' })));
      expect(atA.code).toBe(Code.FAILED_PRECONDITION);
      expect(atA.message).toMatch(/this forwarder has no tunnel IP: set NSM_TUNNEL_IP/);
      expect(endpoint.closes).toBe(1);
      for (const ns of [nsc, nse]) expect(linksOf(ns.name)).toEqual([]);
      for (const ns of [nodeA, nodeB]) expect(linksOf(ns.name).map((l) => l.ifname)).toEqual(['fab0']);
    });

    it('refuses a tunnel IP that no interface of the node has, and a VXLAN mechanism without src_ip', async () => {
      const { nodeB } = twoNodes(fx);
      const nse = fx.add('e');
      const endpoint = endpointDouble({ nsPath: nse.path, name: 'nse0' });
      const wrongIp = forwarderChain(
        await deps({ nodeNs: nodeB.path, tunnelIp: '192.168.99.9' }),
        localOffer,
        endpoint,
      );
      const vxlanReq = (params: Record<string, string>) => ({
        ...clientRequest('b-9', nse.path),
        mechanism_preferences: [newMechanism('VXLAN', 'REMOTE', params)],
      });
      const notHere = await rejectionOf(
        wrongIp.request(ctx, vxlanReq({ src_ip: TUNNEL_A, src_port: '4789' })),
      );
      expect(notHere.code).toBe(Code.FAILED_PRECONDITION);
      expect(notHere.message).toMatch(
        /tunnel IP 192\.168\.99\.9 is not an address of any interface in the node namespace/,
      );
      const fwdB = forwarderChain(
        await deps({ nodeNs: nodeB.path, tunnelIp: TUNNEL_B }),
        localOffer,
        endpoint,
      );
      const noSrc = await rejectionOf(fwdB.request(ctx, vxlanReq({ src_port: '4789' })));
      expect(noSrc.code).toBe(Code.INVALID_ARGUMENT);
      expect(noSrc.message).toMatch(/VXLAN mechanism without src_ip/);
      expect(endpoint.requests).toBe(0);
      expect(linksOf(nse.name)).toEqual([]);
      expect(execFileSync('ip', ['-n', nodeB.name, '-j', 'link'], { encoding: 'utf8' })).not.toMatch(/vxlan/);
    });
  });
});

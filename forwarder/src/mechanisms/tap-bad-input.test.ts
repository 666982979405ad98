import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { Code, createContext } from '@nsm-ts/sdk/core';
import { NamespaceFixture, ipIn, randomSuffix } from '../kernel/testing/netns-fixture.js';
import { checkTunDevice } from '../kernel/tap.js';
import { createKernelDeps } from './deps.js';
import { tapLinkNames } from './tap.js';
import {
  type EndpointOptions,
  endpointDouble,
  forwarderChain,
  localOffer,
  rejectionOf,
} from './testing/harness.js';
import { linksOf } from './testing/inspect.js';
import { RUN, tapRequestFor } from './testing/tap-guest.js';
import { errorOf, isRoot, rootTitle } from '@nsm-ts/sdk/testing';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/tap-bad-input'), () => {
  const ctx = createContext();

  describe('a tap asked for wrongly: a clear error, and nothing half-built', () => {
    const fx = new NamespaceFixture();
    afterEach(() => fx.cleanup());

    async function local(endpoint: Partial<EndpointOptions> = {}) {
      const node = fx.add(`${RUN}n`);
      const nsc = fx.add(`${RUN}c`);
      const nse = fx.add(`${RUN}e`);
      const deps = await createKernelDeps({
        name: `fwd-${RUN}-${randomSuffix()}`,
        tunnelIp: '',
        vxlanPort: 4789,
        nodeNs: node.path,
        adopt: false,
      });
      fx.defer(() => deps.close());
      const double = endpointDouble({ nsPath: nse.path, name: 'nse0', ...endpoint });
      const nothingLeft = () => {
        expect(linksOf(nsc.name).filter((l) => l.ifalias)).toEqual([]);
        expect(linksOf(nse.name).filter((l) => l.ifalias)).toEqual([]);
        expect(linksOf(node.name)).toEqual([]);
      };
      return { nsc, nse, endpoint: double, fwd: forwarderChain(deps, localOffer, double), nothingLeft };
    }

    it('refuses a tap beside an SR-IOV device and a bad device or tap parameter, before the next hop', async () => {
      const { nsc, endpoint, fwd, nothingLeft } = await local();
      const ask = (params: Record<string, string>) =>
        rejectionOf(fwd.request(ctx, tapRequestFor('tb-1', nsc.path, 'vm0', {}, undefined, params)));
      for (const extra of [{ tokenID: 'worker.domain/10G-1' }, { pciAddress: '0000:01:00.1' }]) {
        const err = await ask(extra);
        expect(err.code).toBe(Code.INVALID_ARGUMENT);
        expect(err.message).toMatch(
          /nsm_kernel_device=tap is given with an SR-IOV device \(tokenID\/pciAddress\); expected one of them/,
        );
      }
      const device = await ask({ nsm_kernel_device: 'macvtap' });
      expect(device.message).toMatch(/nsm_kernel_device is "macvtap"; expected "tap"/);
      const owner = await ask({ nsm_tap_owner: 'qemu' });
      expect(owner.message).toMatch(/nsm_tap_owner is "qemu"; expected a numeric id/);
      expect(endpoint.requests).toBe(0);
      nothingLeft();
    });

    it('refuses an endpoint whose KERNEL mechanism asks for a tap, closing it again', async () => {
      const { nsc, endpoint, fwd, nothingLeft } = await local({
        mutate: (c) => void (c.mechanism && (c.mechanism.parameters['nsm_kernel_device'] = 'tap')),
      });
      const err = await rejectionOf(fwd.request(ctx, tapRequestFor('tb-2', nsc.path, 'vm0')));
      expect(err.code).toBe(Code.UNIMPLEMENTED);
      expect(err.message).toMatch(
        /the endpoint's KERNEL mechanism asks for nsm_kernel_device=tap; this forwarder makes taps for clients only/,
      );
      expect(endpoint.closes).toBe(1);
      nothingLeft();
    });

    it('refuses a tap toward a memif endpoint, closing it again', async () => {
      const { nsc, endpoint, fwd, nothingLeft } = await local({ memifSocket: '@nsm-tap-test' });
      const err = await rejectionOf(fwd.request(ctx, tapRequestFor('tb-3', nsc.path, 'vm0')));
      expect(err.code).toBe(Code.UNIMPLEMENTED);
      expect(err.message).toMatch(/the client asks for a tap, and the endpoint serves MEMIF/);
      expect(endpoint.closes).toBe(1);
      nothingLeft();
    });

    it('says which name is taken: the tap name before the next hop, the bridge name after it (all removed)', async () => {
      const { nsc, endpoint, fwd, nothingLeft } = await local();
      ipIn(nsc.name, 'link', 'add', 'vm0', 'type', 'veth', 'peer', 'name', 'x0');
      const tapName = await rejectionOf(fwd.request(ctx, tapRequestFor('tb-4', nsc.path, 'vm0')));
      expect(tapName.code).toBe(Code.ALREADY_EXISTS);
      expect(tapName.message).toMatch(/interface "vm0" already exists in the client pod's namespace/);
      expect(endpoint.requests).toBe(0);

      const { bridge } = tapLinkNames('tb-5');
      ipIn(nsc.name, 'link', 'add', bridge, 'type', 'veth', 'peer', 'name', 'x1');
      const bridgeName = await rejectionOf(fwd.request(ctx, tapRequestFor('tb-5', nsc.path, 'vm1')));
      expect(bridgeName.code).toBe(Code.ALREADY_EXISTS);
      expect(bridgeName.message).toMatch(
        new RegExp(`interface "${bridge}" already exists in the client pod's namespace`),
      );
      expect(endpoint.closes).toBe(1);
      expect(
        linksOf(nsc.name)
          .map((l) => l.ifname)
          .sort(),
      ).toEqual([bridge, 'vm0', 'x0', 'x1'].sort());
      nothingLeft();
    });

    it('says what is missing on a node without /dev/net/tun', () => {
      const missing = `/run/nsm-${RUN}-no-tun`;
      const err = errorOf(() => checkTunDevice(missing));
      expect(err.code).toBe(Code.FAILED_PRECONDITION);
      expect(err.message).toBe(
        `this node cannot create tap devices: ${missing} does not exist; expected the tun driver (CONFIG_TUN, modprobe tun) and /dev/net/tun in the forwarder's container (a character device 10:200)`,
      );
    });

    it('refuses the tap request and the tap itself where /dev/net/tun is hidden (built code, own mount and network namespaces)', () => {
      const built = join(REPO, 'forwarder', 'dist', 'mechanisms', 'tap.js');
      expect(existsSync(built), `${built} is missing: run npm run build`).toBe(true);
      const script = `
        import { tapRequest } from '@nsm-ts/forwarder/mechanisms';
        import { createTap } from '@nsm-ts/forwarder/kernel';
        import { kernelMechanism, withTap } from '@nsm-ts/sdk/elements';
        const out = {};
        try { tapRequest(withTap(kernelMechanism({ name: 'vm0' }))); } catch (e) { out.request = { code: e.code, message: e.message }; }
        try { createTap('nsmtapx0'); } catch (e) { out.create = { code: e.code, message: e.message }; }
        console.log(JSON.stringify(out));`;
      // A private mount namespace with an empty /dev/net: the kernel has tun, this "container" has no device.
      const out = execFileSync(
        'unshare',
        [
          '--mount',
          '--net',
          '--propagation',
          'private',
          'sh',
          '-c',
          'mount -t tmpfs tmpfs /dev/net && exec node --input-type=module -e "$0"',
          script,
        ],
        { cwd: REPO, encoding: 'utf8', timeout: 15_000 },
      );
      const got = JSON.parse(out) as Record<string, { code: number; message: string }>;
      const expected =
        /^this node cannot create tap devices: \/dev\/net\/tun does not exist; expected the tun driver/;
      expect(got['request']?.code).toBe(Code.FAILED_PRECONDITION);
      expect(got['request']?.message).toMatch(expected);
      expect(got['create']?.code).toBe(Code.FAILED_PRECONDITION);
      expect(got['create']?.message).toMatch(expected);
    });
  });
});

/**
 * VFIO, as root, on emulated hardware and a real cgroup v1 devices controller: the client's token
 * gets its VF bound to vfio-pci; the answer's device numbers, mknod'ed in a temporary device
 * directory as a pod would, are the group's nodes; the pod's cgroup may use both devices until
 * the connection closes. Bad requests are refused, naming what is missing.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newMechanism, newRequest } from '@nsm-ts/sdk/api';
import { Code, createContext, metadata, toHandler } from '@nsm-ts/sdk/core';
import { begin, mechanisms } from '@nsm-ts/sdk/elements';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { randomSuffix } from '../kernel/testing/netns-fixture.js';
import { createSriovPool, discoverSriov } from '../sriov/index.js';
import { fakeSriovConfig } from '../sriov/testing/fake-config.js';
import { createFakeSriov } from '../sriov/testing/fake-sriov.js';
import { rejectionOf } from './testing/harness.js';
import { vfioMechanism } from './vfio.js';

const DEVICES = '/sys/fs/cgroup/devices';
const ctx = createContext();

describe.skipIf(!isRoot || !existsSync(join(DEVICES, 'devices.allow')))(
  rootTitle('forwarder/src/mechanisms/vfio'),
  () => {
    const cleanups: (() => void)[] = [];
    afterEach(() => {
      for (const c of cleanups.splice(0).reverse()) c();
    });

    function setUp() {
      const hw = createFakeSriov({
        pfs: [
          { address: '0000:01:00.0', driver: 'i40e', vfDriver: 'iavf', netdev: { name: 'ens1f0' }, vfs: 2 },
        ],
      });
      cleanups.push(() => hw.close());
      const pool = createSriovPool(discoverSriov(fakeSriovConfig(hw), { root: hw.root }), {
        vfioDir: hw.vfioDir,
        bindTimeoutMs: 5000,
      });
      // A pod's cgroup: a real one, that may use no device but those the forwarder allows.
      const cgroupDir = `/nsm-test-${randomSuffix()}`;
      mkdirSync(join(DEVICES, cgroupDir));
      cleanups.push(() => rmdirSync(join(DEVICES, cgroupDir)));
      writeFileSync(join(DEVICES, cgroupDir, 'devices.deny'), 'a');
      const endpoint = {
        request: (_c: unknown, r: { connection: unknown }) => Promise.resolve(r.connection),
        close: () => Promise.resolve(),
      };
      const handler = toHandler([
        begin(),
        metadata('server'),
        mechanisms({ VFIO: vfioMechanism({ sriov: pool }) }),
        endpoint as never,
      ]);
      return { hw, pool, cgroupDir, handler };
    }
    const allowed = (cgroupDir: string) =>
      readFileSync(join(DEVICES, cgroupDir, 'devices.list'), 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean);
    const request = (params: Record<string, string>) =>
      newRequest({ id: `vf-${randomSuffix()}` }, [newMechanism('VFIO', 'LOCAL', params)]);

    it('binds the VF to vfio-pci, answers its group and device numbers, lets the pod cgroup use them until close', async () => {
      const s = setUp();
      const token = s.pool.tokens()[0]!;
      const conn = await s.handler.request(ctx, {
        ...request({ tokenID: token.id, cgroupDir: s.cgroupDir }),
      });
      const p = conn.mechanism!.parameters;
      expect(p['pciAddress']).toBe(token.vfAddress);
      expect(s.hw.driverOf(token.vfAddress)).toBe('vfio-pci');
      const list = allowed(s.cgroupDir);
      expect(list).toContain(`c ${p['vfioMajor']}:${p['vfioMinor']} rwm`);
      expect(list).toContain(`c ${p['deviceMajor']}:${p['deviceMinor']} rwm`);
      // The pod's side: mknod the two nodes from the answer; they are the group's devices.
      const dev = mkdtempSync(join(tmpdir(), 'nsm-vfio-pod-'));
      cleanups.push(() => rmSync(dev, { recursive: true, force: true }));
      execFileSync('mknod', [join(dev, 'vfio'), 'c', p['vfioMajor']!, p['vfioMinor']!]);
      execFileSync('mknod', [join(dev, p['iommuGroup']!), 'c', p['deviceMajor']!, p['deviceMinor']!]);
      expect(statSync(join(dev, p['iommuGroup']!)).rdev).toBe(
        statSync(join(s.hw.vfioDir, p['iommuGroup']!)).rdev,
      );
      expect(statSync(join(dev, 'vfio')).rdev).toBe(statSync(join(s.hw.vfioDir, 'vfio')).rdev);
      await s.handler.close(ctx, conn);
      expect(allowed(s.cgroupDir)).toEqual([]);
      expect(s.pool.tokens()[0]!.holder).toBeUndefined();
    });

    it('refuses a request without tokenID or cgroupDir, or with a cgroup that does not exist', async () => {
      const s = setUp();
      const token = s.pool.tokens()[0]!.id;
      const noToken = await rejectionOf(s.handler.request(ctx, request({ cgroupDir: s.cgroupDir })));
      expect(noToken.message).toContain('has no tokenID');
      const noCgroup = await rejectionOf(s.handler.request(ctx, request({ tokenID: token })));
      expect(noCgroup.message).toContain('has no cgroupDir');
      const bad = await rejectionOf(
        s.handler.request(ctx, request({ tokenID: token, cgroupDir: '/no/such/pod' })),
      );
      expect(bad.code).toBe(Code.INVALID_ARGUMENT);
      expect(bad.message).toContain('"/no/such/pod" is no cgroup under /sys/fs/cgroup/devices');
      expect(s.pool.tokens()[0]!.holder).toBeUndefined();
    });
  },
);

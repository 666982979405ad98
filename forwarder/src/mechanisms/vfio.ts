/**
 * VFIO: a client whose VFIO mechanism carries `tokenID` and `cgroupDir` (as upstream) gets the VF of
 * its token bound to `vfio-pci`: the answer names the VF (`pciAddress`), its IOMMU group and the
 * major/minor of `/dev/vfio/vfio` and `/dev/vfio/<group>`, which the pod creates with mknod; the
 * forwarder lets the pod's cgroup use both devices. Device access is granted through the cgroup v1
 * devices controller (`devices.allow`/`devices.deny` under `<cgroup root>/<cgroupDir>`); on cgroup v2
 * it needs a BPF device program, which this forwarder does not install: refused, saying so.
 * Close denies the devices again (counted per cgroup, as two connections may share one) and gives
 * the VF back. What a connection holds lives in its metadata.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { clone } from '@nsm-ts/sdk/api';
import { Code, NsmError, invalidArgument, metadataSlot, type NetworkServiceElement } from '@nsm-ts/sdk/core';
import type { SriovPool, VfLease } from '../sriov/index.js';

/** What a VFIO connection holds. */
interface Granted {
  lease: VfLease;
  cgroup: string;
  devices: string[];
}

const kGranted = metadataSlot<Granted>('vfio.granted', 'server');

/** Options of {@link vfioMechanism}. */
export interface VfioOptions {
  readonly sriov?: SriovPool | undefined;
  /** The cgroup v1 devices hierarchy (default `/sys/fs/cgroup/devices`). */
  readonly cgroupRoot?: string;
}

/**
 * The VFIO mechanism element for the forwarder chain.
 * Usage: `mechanisms({ ..., VFIO: vfioMechanism({ sriov: pool }) })`.
 */
export function vfioMechanism(options: VfioOptions): NetworkServiceElement {
  const root = options.cgroupRoot ?? '/sys/fs/cgroup/devices';
  const uses = new Map<string, number>(); // `<cgroup> <device>` → connections using it
  const write = (cgroup: string, file: 'devices.allow' | 'devices.deny', device: string): void => {
    try {
      appendFileSync(join(cgroup, file), `c ${device} rwm\n`);
    } catch (err) {
      throw new NsmError(
        Code.INTERNAL,
        `cannot write "c ${device} rwm" to ${join(cgroup, file)}: ${String(err)}`,
        {
          cause: err,
        },
      );
    }
  };
  const release = (g: Granted | undefined): void => {
    if (!g) return;
    for (const device of g.devices) {
      const key = `${g.cgroup} ${device}`;
      const n = (uses.get(key) ?? 1) - 1;
      if (n > 0) uses.set(key, n);
      else {
        uses.delete(key);
        if (existsSync(g.cgroup)) write(g.cgroup, 'devices.deny', device);
      }
    }
    options.sriov?.release(g.lease.owner);
  };
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      const mech = conn?.mechanism ? clone(conn.mechanism) : undefined;
      if (!conn || !mech) throw invalidArgument('VFIO request without connection.mechanism');
      const token = mech.parameters['tokenID'];
      const cgroupDir = mech.parameters['cgroupDir'];
      if (!token)
        throw invalidArgument(
          "the client's VFIO mechanism has no tokenID: expected a token of an SR-IOV pool (label sriovToken)",
        );
      if (!cgroupDir)
        throw invalidArgument(
          "the client's VFIO mechanism has no cgroupDir: expected its pod's cgroup path (as /proc/self/cgroup names it)",
        );
      if (!options.sriov)
        throw new NsmError(
          Code.FAILED_PRECONDITION,
          'the client asks for a VFIO device, but this forwarder has no SR-IOV config: set NSM_SRIOV_CONFIG_FILE',
        );
      if (!existsSync(join(root, 'devices.allow')))
        throw new NsmError(
          Code.FAILED_PRECONDITION,
          `no cgroup v1 devices controller at ${root}: VFIO device access is granted through it; on cgroup v2 it needs a BPF device program, which this forwarder does not install`,
        );
      const cgroup = join(root, cgroupDir);
      if (
        !cgroupDir.startsWith('/') ||
        cgroupDir.split('/').includes('..') ||
        !existsSync(join(cgroup, 'devices.allow'))
      )
        throw invalidArgument(
          `the client's cgroupDir "${cgroupDir}" is no cgroup under ${root}: expected an absolute cgroup path such as /kubepods/pod<uid>/<container>`,
        );
      let granted = kGranted.get(ctx);
      if (!granted) {
        const lease = await options.sriov.acquire({
          owner: `${conn.id}/vfio`,
          tokenId: token,
          driver: 'vfio',
          signal: ctx.signal,
        });
        const v = lease.vfio!;
        const devices = [
          `${v.container.major}:${v.container.minor}`,
          `${v.groupDevice.major}:${v.groupDevice.minor}`,
        ];
        granted = { lease, cgroup, devices: [] };
        try {
          for (const device of devices) {
            const key = `${cgroup} ${device}`;
            if (!uses.has(key)) write(cgroup, 'devices.allow', device);
            uses.set(key, (uses.get(key) ?? 0) + 1);
            granted.devices.push(device);
          }
        } catch (err) {
          release(granted);
          throw err;
        }
        kGranted.set(ctx, granted);
      }
      const v = granted.lease.vfio!;
      Object.assign(mech.parameters, {
        pciAddress: granted.lease.address,
        iommuGroup: String(v.group),
        vfioMajor: String(v.container.major),
        vfioMinor: String(v.container.minor),
        deviceMajor: String(v.groupDevice.major),
        deviceMinor: String(v.groupDevice.minor),
      });
      try {
        const result = await next.request(ctx, { ...req, connection: { ...conn, mechanism: mech } });
        return { ...result, mechanism: mech };
      } catch (err) {
        kGranted.delete(ctx);
        release(granted);
        throw err;
      }
    },
    async close(ctx, conn, next) {
      const granted = kGranted.get(ctx);
      kGranted.delete(ctx);
      try {
        release(granted);
      } catch (err) {
        ctx.log.warn({ connId: conn.id, err: String(err) }, 'denying the VFIO devices again failed');
      }
      await next.close(ctx, conn);
    },
  };
}

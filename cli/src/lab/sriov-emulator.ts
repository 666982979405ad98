#!/usr/bin/env node
/**
 * The emulated SR-IOV NICs of one lab node, run by the lab's supervisor in the node's namespace
 * before its forwarder: builds the sysfs tree (NSM_SYSFS_ROOT) and the VFIO directory
 * (NSM_VFIO_DIR) with the PFs of NSM_SRIOV_EMULATE (JSON: [{ address, driver, vfDriver, netdev, vfs }]),
 * with a real veth "PF" in this namespace and macvlans on it standing in for the VF netdevs (the
 * veth's other end, the PF's cable, goes to the bridge NSM_SRIOV_UPLINK names: <netns>/<bridge>), then
 * honours driver binds until SIGTERM, when it removes everything it made.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmulatedSriov, type EmulatedPfOptions } from '@nsm-ts/forwarder/sriov/emulated';
import { EMULATOR_REPORT as REPORT_PREFIX } from './sriov-report.js';

const env = process.env;
const root = env['NSM_SYSFS_ROOT'];
const vfioDir = env['NSM_VFIO_DIR'];
const netns = env['NSM_NETNS_NAME'];
// <netns>/<bridge>: where the PFs' cables go (the physical network).
const [uplinkNs, uplinkBridge] = (env['NSM_SRIOV_UPLINK'] ?? '').split('/');
const uplink = uplinkNs && uplinkBridge ? { netns: uplinkNs, bridge: uplinkBridge } : undefined;
let pfs: EmulatedPfOptions[];
try {
  pfs = (JSON.parse(env['NSM_SRIOV_EMULATE'] ?? '') as Omit<EmulatedPfOptions, 'netdev'>[]).map((pf, i) => ({
    ...pf,
    netdev: { name: `ens${i + 1}f0`, ...(netns ? { netns } : {}), ...(uplink ? { uplink } : {}) },
  }));
} catch (err) {
  process.stderr.write(
    `sriov-emulator: NSM_SRIOV_EMULATE is not the JSON list of PFs expected: ${String(err)}\n`,
  );
  process.exit(2);
}
if (!root || !vfioDir) {
  process.stderr.write('sriov-emulator: NSM_SYSFS_ROOT and NSM_VFIO_DIR are required\n');
  process.exit(2);
}
const hw = createEmulatedSriov({ root, vfioDir, pfs });
writeFileSync(join(root, '.ready'), `${process.pid}\n`);
process.stdout.write(
  `emulated ${pfs.length} PF(s) with ${pfs.map((p) => p.vfs).join('+')} VFs under ${root}\n`,
);
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => {
    // The report `nsm down` prints: are the VFs back in the node under their names?
    const { count, misplaced } = hw.standIns();
    process.stdout.write(
      misplaced.length === 0
        ? `${REPORT_PREFIX}all ${count} VFs back in the node under their original names\n`
        : `${REPORT_PREFIX}${misplaced.length} of ${count} VFs not back in the node: ${misplaced.join(', ')}\n`,
    );
    hw.close();
    process.exit(0);
  });
let reported = 0;
setInterval(() => {
  for (const e of hw.errors.slice(reported)) process.stderr.write(`sriov-emulator: ${e}\n`);
  reported = hw.errors.length;
}, 1000);

/**
 * A real VM on a tap, as root (optional: it runs where qemu-system-x86_64 and the tiny image of
 * scripts/vm-image.sh are; .ci/run provides both). A lab client pod asks for `tap://vm-net/vm0`;
 * qemu, started in that pod's namespace as a launcher would start it, attaches its virtio NIC to the
 * tap, and the guest, given the connection's address on its kernel command line, pings the
 * endpoint on the other node over the VXLAN wire. The endpoint learns the guest's MAC: the guest
 * answered, not the pod. Software emulation (TCG) boots it in seconds; KVM is not used, as nested
 * KVM is not dependable on CI machines.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { hostOf, manifestDir, statusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { nsm, testLabName } from '../harness/nsm-cli.js';

const IMAGE = process.env['NSM_VM_IMAGE'] ?? '/var/cache/nsm-ts/vm';
const QEMU = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].find((p) => existsSync(p));
const ready =
  QEMU !== undefined && existsSync(join(IMAGE, 'vmlinuz')) && existsSync(join(IMAGE, 'initrd.gz'));
const GUEST_MAC = '52:54:00:6e:73:6d';

const MANIFESTS = {
  'vm.yaml': `apiVersion: networkservicemesh.io/v1
kind: NetworkService
metadata: { name: vm-net }
spec: { payload: ETHERNET }
---
apiVersion: v1
kind: Pod
metadata: { name: nse-vm }
spec:
  nodeName: node-2
  containers:
    - name: nse
      image: nse
      env:
        - { name: NSM_SERVICE_NAMES, value: vm-net }
        - { name: NSM_CIDR_PREFIX, value: 10.60.50.0/24 }
---
apiVersion: v1
kind: Pod
metadata:
  name: vm-launcher
  annotations: { networkservicemesh.io: 'tap://vm-net/vm0' }
spec:
  nodeName: node-1
  containers: [{ name: launcher, image: virt-launcher }]
`,
};

/** Boots the guest in `netns` on tap `ifname`; resolves with its console output when it powers off. */
function bootGuest(netns: string, ifname: string, append: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = [
      'netns',
      'exec',
      netns,
      QEMU!,
      '-accel',
      'tcg',
      '-m',
      '256',
      '-nographic',
      '-no-reboot',
      '-nodefaults',
      '-serial',
      'stdio',
      '-kernel',
      join(IMAGE, 'vmlinuz'),
      '-initrd',
      join(IMAGE, 'initrd.gz'),
      '-append',
      `console=ttyS0 quiet panic=-1 ${append}`,
      '-netdev',
      `tap,id=n0,ifname=${ifname},script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=n0,mac=${GUEST_MAC}`,
    ];
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the guest did not power off within ${timeoutMs} ms:\n${out.slice(-2000)}`));
    }, timeoutMs);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

describe.skipIf(!isRoot || !ready)(rootTitle('test/e2e/vm-tap (qemu and scripts/vm-image.sh)'), () => {
  const lab = testLabName('vm');
  const manifests = manifestDir(MANIFESTS);

  beforeAll(async () => {
    const run = await nsm(lab, 'up', manifests.dir, '--timeout', '60s');
    expect(run.code, run.stderr + run.stdout).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await nsm(lab, 'down');
    manifests.remove();
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
  }, 60_000);

  it("boots a VM on the pod's tap; the guest reaches the endpoint on the other node with the connection's address", async () => {
    const status = await statusJson(lab);
    const link = status.links.find((l) => l.client === 'vm-launcher');
    expect(link).toMatchObject({ state: 'UP', clientInterface: 'vm0', mechanism: 'KERNEL' });
    const launcher = `nsm-${lab}-vm-launcher`;
    const [tap] = JSON.parse(
      execFileSync('ip', ['-n', launcher, '-d', '-j', 'link', 'show', 'vm0'], { encoding: 'utf8' }),
    ) as { mtu: number; linkinfo?: { info_kind?: string } }[];
    expect(tap?.linkinfo?.info_kind).toBe('tun');
    const address = link!.clientIps[0]!;
    const peer = hostOf(link!.endpointIps[0]);
    const output = await bootGuest(
      launcher,
      'vm0',
      `nsm.addr=${address} nsm.peer=${peer} nsm.mtu=${tap!.mtu}`,
      120_000,
    );
    expect(output).toContain(`NSM-VM-UP ${GUEST_MAC} mtu ${tap!.mtu}`);
    expect(output, output.slice(-2000)).toContain('NSM-VM-PING-OK');
    // The endpoint answered the guest itself: it learned the guest's MAC for the client's address.
    const neigh = execFileSync('ip', ['-n', `nsm-${lab}-nse-vm`, 'neigh', 'show', hostOf(address)], {
      encoding: 'utf8',
    });
    expect(neigh).toContain(GUEST_MAC);
  }, 180_000);
});

/**
 * Brownfield, as root: deploy/examples/brownfield-vnf brings up a legacy firewall VNF outside the
 * mesh (a fabric host configured by a plain script: per-VNI VXLAN devices, a bridge, routing, nftables)
 * and a web server behind it, and two CNFs on different nodes that reach it through the mesh on
 * VNIs of their own. `nsm check` proves both links, and traffic the VNF routes onward. Stopping the
 * VNF's VTEP turns both links DOWN in `nsm status` with the reason; starting it again heals them.
 * Then the faults (test/e2e/fixtures/brownfield-faults): a wrong VTEP, an unreachable VTEP, one VNI
 * for two clients, a path with a smaller MTU, and a VNI taken on the client's node — each ends in a
 * clear error or another VNI, never a silent black hole.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { statusJson, type StatusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, nsm, testLabName } from '../harness/nsm-cli.js';

const EXAMPLE = 'deploy/examples/brownfield-vnf';
const FAULTS = 'test/e2e/fixtures/brownfield-faults';

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await probe();
    if (last !== undefined) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The VNI of the VXLAN device `ifname` in the pod's namespace. */
function vniOf(netns: string, ifname: string): number {
  const out = execFileSync('ip', ['-n', netns, '-d', '-j', 'link', 'show', ifname], { encoding: 'utf8' });
  const [link] = JSON.parse(out) as { linkinfo?: { info_data?: { id?: number; remote?: string } } }[];
  return link?.linkinfo?.info_data?.id ?? -1;
}

const linkOf = (status: StatusJson, client: string) => status.links.find((l) => l.client === client);
const waiting = (status: StatusJson, pod: string): string =>
  status.pods
    .find((p) => p.name === pod)
    ?.pending.map((w) => w.reason)
    .join('; ') ?? '';

describe.skipIf(!isRoot)(rootTitle('test/e2e/brownfield'), () => {
  const lab = testLabName('bf');
  const ns = (pod: string): string => `nsm-${lab}-${pod}`;

  beforeAll(async () => {
    const run = await nsm(lab, 'up', EXAMPLE, '--timeout', '60s');
    expect(run.code, run.stderr + run.stdout).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await nsm(lab, 'down');
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
  }, 60_000);

  it('connects both CNFs to the VNF on VNIs of their own; nsm check proves the links and the traffic routed beyond', async () => {
    const status = await statusJson(lab);
    for (const client of ['cnf-a', 'cnf-b']) {
      expect(linkOf(status, client)).toMatchObject({
        endpoint: 'legacy-fw',
        state: 'UP',
        endpointIps: ['172.31.100.1/24'],
      });
    }
    const vnis = ['cnf-a', 'cnf-b'].map((c) => vniOf(ns(c), 'nsm-fw'));
    expect(new Set(vnis).size).toBe(2);
    for (const vni of vnis) expect(vni).toBeGreaterThanOrEqual(5001);
    const check = await checkJson(lab);
    expect(check.ok, JSON.stringify(check.links)).toBe(true);
    for (const link of check.links) {
      expect(link.notes.join('; ')).toContain('10.77.0.10 (beyond the VNF) answers ping');
      expect(link.notes.join('; ')).toContain('GET http://10.77.0.10:8080/: HTTP 200');
    }
  }, 60_000);

  it("turns the links DOWN with the reason when the VNF's VTEP stops, and heals them when it is back", async () => {
    const addresses = (await statusJson(lab)).links.map((l) => l.clientIps.join());
    const down = await nsm(lab, 'exec', 'firewall-vm', '--', 'ip', 'link', 'set', 'eth0', 'down');
    expect(down.code, down.stderr).toBe(0);
    try {
      const status = await until('both links DOWN with the reason', 30_000, async () => {
        const s = await statusJson(lab);
        const links = ['cnf-a', 'cnf-b'].map((c) => linkOf(s, c));
        return links.every((l) => l?.state === 'DOWN' && l.reason?.includes('VTEP 198.18.0.50'))
          ? s
          : undefined;
      });
      expect(linkOf(status, 'cnf-a')?.reason).toContain(
        'does not answer ping from this node: it is unreachable',
      );
      const text = await nsm(lab, 'status');
      expect(text.stdout).toMatch(/DOWN: .*VTEP 198\.18\.0\.50/);
    } finally {
      await nsm(lab, 'exec', 'firewall-vm', '--', 'ip', 'link', 'set', 'eth0', 'up');
    }
    await until('both links UP again', 30_000, async () => {
      const s = await statusJson(lab);
      return ['cnf-a', 'cnf-b'].every((c) => linkOf(s, c)?.state === 'UP') ? s : undefined;
    });
    const check = await checkJson(lab);
    expect(check.ok, JSON.stringify(check.links)).toBe(true);
    // The clients kept their slots: the same addresses (and so the same VNIs) as before.
    expect((await statusJson(lab)).links.map((l) => l.clientIps.join())).toEqual(addresses);
  }, 90_000);

  it('ends each fault in a clear error: wrong VTEP, unreachable VTEP, one VNI for two, a smaller MTU on the way', async () => {
    await nsm(lab, 'apply', '-f', FAULTS, '--timeout', '15s');
    try {
      const status = await until('the faults reported', 30_000, async () => {
        const s = await statusJson(lab);
        const faults = ['c-wrong-vtep-1', 'c-no-vtep-2', 'c-small-mtu-1'];
        return faults.every((p) => waiting(s, p).includes('external VNF')) ? s : undefined;
      });
      expect(waiting(status, 'c-wrong-vtep-1')).toContain(
        'the VTEP 198.18.0.60 answers ping, but nothing answers ARP for 172.31.101.1 on VNI 6001: wrong VTEP, VNI or UDP port',
      );
      expect(waiting(status, 'c-no-vtep-2')).toContain(
        'the VTEP 198.18.0.99 does not answer ping from this node: it is unreachable',
      );
      expect(waiting(status, 'c-small-mtu-1')).toMatch(
        /MTU mismatch: a 1450-byte packet \(the tunnel's MTU\) is lost while small ones pass; the largest that passes is about 13\d\d bytes/,
      );
      // One of the two clients of the single VNI holds it; the other is told who does.
      const one = ['c-one-vni-1', 'c-one-vni-2'];
      expect(one.filter((p) => linkOf(status, p)?.state === 'UP')).toHaveLength(1);
      const refused = one.map((p) => waiting(status, p)).find((w) => w !== '') ?? '';
      expect(refused).toMatch(
        /external endpoint one-vni: no free slot of 1 \(VNI 7001 held by c-one-vni-[12]\)/,
      );
      // The existing links were not touched.
      expect(['cnf-a', 'cnf-b'].map((c) => linkOf(status, c)?.state)).toEqual(['UP', 'UP']);
    } finally {
      // The next test runs on the example alone.
      const removed = await nsm(lab, 'delete', '-f', FAULTS);
      expect(removed.code, removed.stderr).toBe(0);
    }
  }, 90_000);

  it('moves a client to another VNI when its node already has a VXLAN device on its VNI', async () => {
    const vni = vniOf(ns('cnf-a'), 'nsm-fw');
    // A hand-made tunnel on node-1 with cnf-a's VNI and port: the kernel refuses a second one.
    const deleted = await nsm(lab, 'delete', 'cnf-a');
    expect(deleted.code, deleted.stderr).toBe(0);
    execFileSync('ip', [
      '-n',
      ns('node-1'),
      'link',
      'add',
      'vxtaken',
      'type',
      'vxlan',
      'id',
      String(vni),
      'dstport',
      '4789',
      'local',
      '198.18.0.11',
      'remote',
      '198.18.0.99',
    ]);
    const back = await nsm(lab, 'apply', '-f', EXAMPLE, '--timeout', '30s');
    expect(back.code, back.stderr + back.stdout).toBe(0);
    const status = await until('cnf-a UP again', 30_000, async () => {
      const s = await statusJson(lab);
      return linkOf(s, 'cnf-a')?.state === 'UP' ? s : undefined;
    });
    const now = vniOf(ns('cnf-a'), 'nsm-fw');
    expect(now).not.toBe(vni);
    expect(now).not.toBe(vniOf(ns('cnf-b'), 'nsm-fw'));
    expect(linkOf(status, 'cnf-a')?.state).toBe('UP');
    const check = await checkJson(lab);
    expect(check.ok, JSON.stringify(check.links)).toBe(true);
  }, 90_000);
});

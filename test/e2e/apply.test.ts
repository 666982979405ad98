/**
 * A lab that changes while it runs, as root: the 4G EPC up on two nodes gains an endpoint (the EIR,
 * with its own network service and the MME's S13 client) through `nsm apply -f` and loses it
 * through `nsm delete -f`, while a ping runs on every EPC link: none of those pings is lost, and no
 * EPC pod is restarted. Bad changes are refused, naming why, with nothing changed. `nsm exec`,
 * `nsm logs` and `nsm netem` act on the same lab.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { pingInNamespace } from '@nsm-ts/forwarder/liveness';
import { hostOf, manifestDir, statusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, nsm, testLabName } from '../harness/nsm-cli.js';

/** Whether this kernel has the netem qdisc: tried on a veth in a namespace of its own. */
function hasNetem(): boolean {
  const ns = `nsm-netem-probe-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'pa', 'type', 'veth', 'peer', 'name', 'pb']);
    execFileSync(
      'ip',
      ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'pa', 'root', 'netem', 'delay', '1ms'],
      {
        stdio: 'ignore',
      },
    );
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

/**
 * Pings `to` from inside the namespace every 50 ms until stopped, in this process (the forwarder's
 * own ICMP, no `ping` child that a signal to the test's process group could end early); `stop()`
 * resolves with the counts.
 */
function pingIn(netns: string, to: string): { stop: () => Promise<{ sent: number; received: number }> } {
  let sent = 0;
  let received = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      sent++;
      const ok = await pingInNamespace(netns, to, 500).then(
        () => true,
        () => false,
      );
      if (ok) received++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { sent, received };
    },
  };
}

describe.skipIf(!isRoot)(rootTitle('test/e2e/apply'), () => {
  const lab = testLabName('apply');
  const pings: { stop: () => Promise<unknown> }[] = [];

  beforeAll(async () => {
    const run = await nsm(lab, 'up', 'deploy/examples/4g-epc', '--nodes', '2', '--timeout', '90s');
    expect(run.code, run.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(pings.map((p) => p.stop()));
    await nsm(lab, 'down');
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
  }, 60_000);

  it('gains and loses an endpoint through apply and delete -f, losing no ping on the EPC links', async () => {
    const before = await statusJson(lab);
    const epcPids = Object.fromEntries(
      before.components.filter((c) => c.kind === 'pod').map((c) => [c.name, c.pid]),
    );
    const running = before.links.map((l) => {
      const netns = before.pods.find((p) => p.name === l.client)!.netns;
      const ping = pingIn(netns, hostOf(l.endpointIps[0]));
      pings.push(ping);
      return { link: `${l.client}/${l.clientInterface}`, ping };
    });
    expect(running).toHaveLength(9);
    await new Promise((r) => setTimeout(r, 1000));

    const added = await nsm(lab, 'apply', '-f', 'deploy/examples/4g-epc-eir');
    expect(added.code, added.stderr).toBe(0);
    for (const line of ['networkservice/4g-eir created', 'pod/eir created', 'pod/mme-s13 created'])
      expect(added.stderr).toContain(line);
    const withEir = await checkJson(lab);
    expect(withEir.links.filter((l) => !l.ok).map((l) => l.problems)).toEqual([]);
    expect(withEir.links.map((l) => `${l.client}/${l.clientInterface}`)).toContain('mme-s13/nsm-0');
    expect(withEir.links).toHaveLength(10);
    // Applying the same again changes nothing.
    const again = await nsm(lab, 'apply', '-f', 'deploy/examples/4g-epc-eir');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('nothing changed');

    const removed = await nsm(lab, 'delete', '-f', 'deploy/examples/4g-epc-eir');
    expect(removed.code, removed.stderr).toBe(0);
    for (const line of ['pod/eir deleted', 'pod/mme-s13 deleted', 'networkservice/4g-eir deleted'])
      expect(removed.stderr).toContain(line);
    await new Promise((r) => setTimeout(r, 1000));

    const counts = await Promise.all(running.map(async (r) => ({ link: r.link, ...(await r.ping.stop()) })));
    pings.length = 0;
    for (const c of counts) {
      expect(c.sent, c.link).toBeGreaterThan(20);
      expect(c.received, `${c.link}: ${c.sent - c.received} of ${c.sent} pings lost`).toBe(c.sent);
    }
    const after = await statusJson(lab);
    expect(after.pods.map((p) => p.name).sort()).toEqual(before.pods.map((p) => p.name).sort());
    // No EPC pod was restarted: the same processes.
    expect(
      Object.fromEntries(after.components.filter((c) => c.kind === 'pod').map((c) => [c.name, c.pid])),
    ).toEqual(epcPids);
    expect((await checkJson(lab)).ok).toBe(true);
  }, 180_000);

  it('refuses invalid changes naming why, and changes nothing', async () => {
    const overlap = manifestDir({
      'bad.yaml': [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: rogue }',
        'spec:',
        '  selector: { matchLabels: { app: rogue } }',
        '  template:',
        '    metadata: { labels: { app: rogue } }',
        '    spec:',
        '      containers:',
        '        - name: nse',
        '          image: x',
        '          env:',
        '            - { name: NSM_SERVICE_NAMES, value: 4g-network }',
        '            - { name: NSM_CIDR_PREFIX, value: 10.60.1.0/25 }',
      ].join('\n'),
      'gone.yaml':
        'apiVersion: v1\nkind: Pod\nmetadata: { name: nope }\nspec: { containers: [{ name: c, image: x }] }\n',
    });
    try {
      const bad = await nsm(lab, 'apply', '-f', `${overlap.dir}/bad.yaml`);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('nothing was changed');
      expect(bad.stderr).toMatch(
        /bad\.yaml:\d+:\d+: NSM_CIDR_PREFIX 10\.60\.1\.0\/25 overlaps 10\.60\.1\.0\/24/,
      );
      const missing = await nsm(lab, 'delete', '-f', `${overlap.dir}/gone.yaml`);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`Pod "nope" is not in lab "${lab}"`);
      expect((await statusJson(lab)).pods.map((p) => p.name)).not.toContain('rogue');
    } finally {
      overlap.remove();
    }
  }, 60_000);

  it('runs a command in a pod, shows logs readably, and impairs an interface with netem', async () => {
    const exec = await nsm(lab, 'exec', 'hss', '--', 'ip', '-br', 'link', 'show', 'nsm-0');
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout).toMatch(/^nsm-0[@\s]/);
    const failing = await nsm(lab, 'exec', 'hss', '--', 'sh', '-c', 'exit 3');
    expect(failing.code).toBe(3);
    const logs = await nsm(lab, 'logs', 'hss');
    expect(logs.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}hss\s+connected .*endpoint=mme/m);
    const link = (await statusJson(lab)).links.find((l) => l.client === 'hss')!;
    const netem = await nsm(lab, 'netem', 'hss/nsm-0', 'delay', '200ms');
    if (hasNetem()) {
      expect(netem.code, netem.stderr).toBe(0);
      expect((await nsm(lab, 'netem', 'hss/nsm-0', 'show')).stdout).toContain('delay 200ms');
      const slow = await nsm(lab, 'exec', 'hss', '--', 'ping', '-c1', '-W2', hostOf(link.endpointIps[0]));
      expect(slow.stdout).toMatch(/time=2\d\d/);
    } else {
      expect(netem.code).toBe(2);
      expect(netem.stderr).toContain('this kernel has no netem qdisc (sch_netem)');
    }
    // A rate alone is a tbf, which more kernels have.
    const rate = await nsm(lab, 'netem', 'hss/nsm-0', 'rate', '1mbit');
    expect(rate.code, rate.stderr).toBe(0);
    expect((await nsm(lab, 'netem', 'hss/nsm-0', 'show')).stdout).toMatch(/qdisc tbf .*rate 1Mbit/);
    expect((await nsm(lab, 'netem', 'hss/nsm-0', 'clear')).code).toBe(0);
    expect((await nsm(lab, 'netem', 'hss/nsm-0', 'show')).stdout).not.toMatch(/netem|tbf/);
    const bad = await nsm(lab, 'netem', 'hss/nsm-9', 'loss', '5%');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('pod hss has no interface "nsm-9"');
  }, 60_000);
});

/**
 * Rough edges of the `nsm` command, found by using it as a new user would: commands that need root
 * say so and exit 2 (never hang) when run by another user; bad option values are refused before
 * anything is built; a README is not a manifest; Ctrl-C during `up` removes the half-built lab; a
 * closed pipe is no error; every subcommand's help names `--lab`; and on a dual-stack service chain
 * across two nodes, `check` proves both address families and WHERE says the path crosses nodes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestDir, statusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, nsm, testLabName } from '../harness/nsm-cli.js';
import { nsmCliPath, spawnNsm } from '../harness/nsm-spawn.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('test/e2e/cli-edges'), () => {
  const nothingLeft = { namespaces: [], processes: [], stateDir: false };

  /** Runs a command line through sh; resolves with exit code and output. */
  function sh(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile('sh', ['-c', line], { maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  describe('nsm as another user than root', () => {
    const lab = testLabName('nonroot');
    const asNobody = (args: string): Promise<{ code: number; stdout: string; stderr: string }> =>
      sh(
        `setpriv --reuid=65534 --regid=65534 --clear-groups ${process.execPath} ${nsmCliPath} --lab ${lab} ${args}`,
      );

    it.each([
      ['up deploy/examples/kernel2kernel', 'nsm up needs root'],
      ['status', 'nsm status needs root'],
      ['check', 'nsm check needs root'],
      ['stop mme', 'nsm stop needs root'],
      ['start mme', 'nsm start needs root'],
      ['delete mme', 'nsm delete needs root'],
      ['down', 'nsm down needs root'],
    ])('nsm %s says it needs root and exits 2', async (args, message) => {
      const started = Date.now();
      const run = await asNobody(args);
      expect(run.stderr).toContain(message);
      expect(run.code).toBe(2);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(leftovers(lab)).toEqual(nothingLeft);
    });
  });

  describe('bad options and inputs are refused before anything is built', () => {
    const lab = testLabName('badopt');
    afterAll(async () => {
      await nsm(lab, 'down');
      expect(leftovers(lab)).toEqual(nothingLeft);
    });

    it('--log-level loud: exit 2 at once, naming the levels', async () => {
      const started = Date.now();
      const run = await nsm(lab, 'up', 'deploy/examples/kernel2kernel', '--log-level', 'loud');
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        '--log-level loud: expected one of fatal, error, warn, info, debug, trace, silent',
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(leftovers(lab)).toEqual(nothingLeft);
    });

    it('--timeout soon and --nodes 0: exit 2 with what was expected', async () => {
      const timeout = await nsm(lab, 'up', 'deploy/examples/kernel2kernel', '--timeout', 'soon');
      expect(timeout.code).toBe(2);
      expect(timeout.stderr).toContain('--timeout soon:');
      const nodes = await nsm(lab, 'up', 'deploy/examples/kernel2kernel', '--nodes', '0');
      expect(nodes.code).toBe(2);
      expect(nodes.stderr).toContain('--nodes 0: expected an integer from 1 to 200');
    });

    it('nsm up README.md is an error, not an empty lab', async () => {
      const run = await nsm(lab, 'up', 'README.md');
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('README.md: is not a .yaml or .yml file; expected a YAML manifest');
      expect(leftovers(lab)).toEqual(nothingLeft);
    });

    it('nsm delete pod needs a name, and "nsm delete x y" is refused', async () => {
      const run = await nsm(lab, 'delete', 'thing', 'other');
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('expected "nsm delete [pod] <name>"');
    });

    it('a missing tool is named with the package that brings it (exit 2)', async () => {
      // A PATH holding only node: no `ip`.
      const bin = mkdtempSync(join(tmpdir(), 'nsm-path-'));
      try {
        symlinkSync(process.execPath, join(bin, 'node'));
        const run = await sh(`PATH=${bin} node ${nsmCliPath} --lab ${lab} up deploy/examples/kernel2kernel`);
        expect(run.code).toBe(2);
        expect(run.stderr).toContain('ip is not installed (the lab needs it): apt-get install -y iproute2');
        expect(leftovers(lab)).toEqual(nothingLeft);
      } finally {
        rmSync(bin, { recursive: true, force: true });
      }
    });

    it('every subcommand help names --lab', async () => {
      for (const sub of ['up', 'status', 'check', 'logs', 'stop', 'start', 'delete', 'down']) {
        const run = await nsm(lab, sub, '--help');
        expect(run.code, sub).toBe(0);
        expect(run.stdout, sub).toContain('--lab <name>');
      }
    });
  });

  describe('Ctrl-C during nsm up', () => {
    const lab = testLabName('ctrlc');
    afterAll(async () => {
      await nsm(lab, 'down');
      expect(leftovers(lab)).toEqual(nothingLeft);
    }, 60_000);

    it('removes what was built and says so (exit 130)', async () => {
      const up = spawnNsm(lab, 'up', 'deploy/examples/kernel2ethernet2kernel');
      await expect
        .poll(() => leftovers(lab).processes.length, { timeout: 20_000, interval: 50 })
        .toBeGreaterThanOrEqual(2);
      up.child.kill('SIGINT');
      expect(await up.exited).toBe(130);
      expect(up.stderr()).toContain(`interrupted; lab "${lab}" was removed again`);
      expect(leftovers(lab)).toEqual(nothingLeft);
    }, 60_000);
  });

  const chain = {
    'service.yaml': `apiVersion: networkservicemesh.io/v1
kind: NetworkService
metadata: { name: dual }
spec:
  payload: IP
  matches:
    - source_selector: { app: fw }
      routes: [{ destination_selector: { app: gw } }]
    - routes: [{ destination_selector: { app: fw } }]
`,
    'pods.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: client
  annotations: { networkservicemesh.io: kernel://dual/nsm-1 }
spec:
  nodeName: node-1
  containers: [{ name: c, image: alpine }]
---
apiVersion: v1
kind: Pod
metadata:
  name: fw
  annotations: { networkservicemesh.io: "kernel://dual/nsm-1?app=fw" }
spec:
  nodeName: node-2
  containers:
    - name: fw
      image: fw
      env:
        - { name: NSM_SERVICE_NAMES, value: dual }
        - { name: NSM_LABELS, value: "app:fw" }
---
apiVersion: v1
kind: Pod
metadata: { name: gw }
spec:
  nodeName: node-1
  containers:
    - name: gw
      image: gw
      env:
        - { name: NSM_SERVICE_NAMES, value: dual }
        - { name: NSM_LABELS, value: "app:gw" }
        - { name: NSM_CIDR_PREFIX, value: "10.90.0.0/24,fd00:90::/64" }
`,
  };

  describe('a dual-stack chain client (node-1) → fw (node-2) → gw (node-1)', () => {
    const lab = testLabName('dual');
    const files = manifestDir(chain);

    beforeAll(async () => {
      const run = await nsm(lab, 'up', files.dir);
      expect(run.code, run.stderr).toBe(0);
    }, 90_000);

    afterAll(async () => {
      await nsm(lab, 'down');
      files.remove();
      expect(leftovers(lab)).toEqual(nothingLeft);
    }, 60_000);

    it('check pings both address families both ways; WHERE says the path crosses nodes', async () => {
      const result = await checkJson(lab);
      expect(result.ok).toBe(true);
      const [link] = result.links as unknown as {
        locality: string;
        nodes: string[];
        pairs: { clientIp: string; endpointIp: string; forward: boolean; reverse: boolean; peer: boolean }[];
      }[];
      expect(link?.pairs.map((p) => [p.clientIp.includes(':'), p.forward, p.reverse, p.peer])).toEqual([
        [false, true, true, true],
        [true, true, true, true],
      ]);
      expect(link?.locality).toBe('remote');
      expect(link?.nodes).toEqual(['node-1', 'node-2']);
      const status = await statusJson(lab);
      expect(status.links[0]?.chain).toEqual(['fw', 'gw']);
      const text = await nsm(lab, 'status');
      expect(text.stdout).toContain('remote (node-1→node-2)');
    }, 60_000);

    it('nsm status | head: a closed pipe is no error', async () => {
      const run = await sh(`${process.execPath} ${nsmCliPath} --lab ${lab} status | head -1`);
      expect(run.code).toBe(0);
      expect(run.stdout.trim()).toMatch(/^COMPONENT/);
      expect(run.stderr).toBe('');
    });

    it('daemon and pod logs carry one name per line', () => {
      for (const log of ['nsmgr-node-1', 'forwarder-node-2', 'registry', 'supervisor', 'pod-fw']) {
        const lines = readFileSync(`/run/nsm-lab/${lab}/logs/${log}.log`, 'utf8').trim().split('\n');
        expect(lines.length, log).toBeGreaterThan(0);
        for (const line of lines)
          expect(line.match(/"name":/g)?.length ?? 0, `${log}: ${line}`).toBeLessThanOrEqual(1);
      }
    });
  });
});

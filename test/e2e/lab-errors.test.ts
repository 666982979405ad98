/**
 * The `nsm` command when things are wrong, as root: invalid manifests are refused before anything is
 * created (exit 2, one `file:line:col: ...` line per problem); a second `up` of a running lab, or one
 * over a crashed run's leftovers, is refused without harming what exists; `down` is idempotent, also
 * after a killed `up`; `logs`, `check` and `status` name what is missing; every command has `--help`.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifests } from '@nsm-ts/cli/manifests';
import { base, cases, expectedProblems } from '../harness/bad-manifests.js';
import { manifestDir } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, nsm, testLabName } from '../harness/nsm-cli.js';
import { spawnNsm, type NsmChild } from '../harness/nsm-spawn.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('test/e2e/lab-errors'), () => {
  const nothingLeft = { namespaces: [], processes: [], stateDir: false };

  describe('nsm up with invalid manifests', () => {
    const lab = testLabName('bad');

    afterAll(async () => {
      await nsm(lab, 'down');
      expect(leftovers(lab)).toEqual(nothingLeft);
    }, 30_000);

    it('accepts the valid base the bad cases are made from', () => {
      const files = manifestDir(base);
      try {
        expect(loadManifests([files.dir], { nodes: 2 }).pods.map((p) => [p.name, p.node])).toEqual([
          ['nsc', 'node-2'],
          ['nse', 'node-1'],
        ]);
      } finally {
        files.remove();
      }
    });

    for (const c of cases) {
      it(`refuses ${c.what} with exit 2, file:line:col and nothing created`, async () => {
        const files = manifestDir(c.files);
        try {
          const run = await nsm(lab, 'up', files.dir, '--nodes', '2');
          expect(run.code, run.stderr).toBe(2);
          const lines = run.stderr.trim().split('\n');
          expect(lines[0]).toBe('nsm up: the manifests are not valid; nothing was created:');
          const expected = expectedProblems(files.dir, c);
          expect(lines.slice(1)).toHaveLength(expected.length);
          lines
            .slice(1)
            .forEach((line, i) =>
              expect(line.startsWith(expected[i]!), `${line}\n  should start with\n${expected[i]}`).toBe(
                true,
              ),
            );
          expect(leftovers(lab)).toEqual(nothingLeft);
        } finally {
          files.remove();
        }
      }, 30_000);
    }
  });

  describe('nsm on a lab that does not exist', () => {
    const lab = testLabName('never');

    it('down exits 0 and creates nothing', async () => {
      const run = await nsm(lab, 'down');
      expect(run.code, run.stderr).toBe(0);
      expect(leftovers(lab)).toEqual(nothingLeft);
    });

    it('check, status, stop and logs exit non-zero saying the lab is not up', async () => {
      for (const args of [
        ['check'],
        ['check', '--json'],
        ['status'],
        ['stop', 'registry'],
        ['logs', 'registry'],
      ]) {
        const run = await nsm(lab, ...args);
        expect(run.code, `nsm ${args.join(' ')}`).not.toBe(0);
        expect(run.stderr, `nsm ${args.join(' ')}`).toContain(`lab "${lab}" is not up`);
      }
      expect(leftovers(lab)).toEqual(nothingLeft);
    }, 30_000);
  });

  describe('nsm up on a lab that is up, logs, and leftovers of a crashed run', () => {
    const lab = testLabName('twice');

    beforeAll(async () => {
      const run = await nsm(lab, 'up', 'deploy/examples/kernel2kernel', '--timeout', '60s');
      expect(run.code, run.stderr).toBe(0);
    }, 90_000);

    afterAll(async () => {
      await nsm(lab, 'down');
      expect(leftovers(lab)).toEqual(nothingLeft);
    }, 60_000);

    it('refuses a second up with "already up" and leaves the first lab working', async () => {
      const before = leftovers(lab);
      const run = await nsm(lab, 'up', 'deploy/examples/kernel2kernel');
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`lab "${lab}" is already up`);
      expect(run.stderr).toContain(`nsm down --lab ${lab}`);
      expect(leftovers(lab)).toEqual(before);
      const check = await checkJson(lab);
      expect(check.links.map((l) => [l.client, l.endpoint, l.ok])).toEqual([
        ['nsc-kernel', 'nse-kernel', true],
      ]);
    }, 60_000);

    it('logs prints a component or pod log, and names the known ones for an unknown name', async () => {
      for (const name of ['registry', 'nsmgr-node-1', 'forwarder-node-2', 'nsc-kernel', 'nse-kernel']) {
        const run = await nsm(lab, 'logs', name);
        expect(run.code, `${name}: ${run.stderr}`).toBe(0);
        expect(run.stdout.length, name).toBeGreaterThan(0);
      }
      const run = await nsm(lab, 'logs', 'no-such-thing');
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('no logs for "no-such-thing"; known: ');
      for (const known of [
        'registry',
        'nsmgr-node-1',
        'nsmgr-node-2',
        'forwarder-node-1',
        'forwarder-node-2',
        'nsc-kernel',
        'nse-kernel',
      ]) {
        expect(run.stderr).toContain(known);
      }
    }, 30_000);

    it('stop and start of an unknown component name the known ones', async () => {
      for (const action of ['stop', 'start']) {
        const run = await nsm(lab, action, 'no-such-thing');
        expect(run.code).not.toBe(0);
        expect(run.stderr).toMatch(/no component or pod "no-such-thing".*known: .*registry.*nsc-kernel/);
      }
    }, 30_000);
  });

  describe('nsm down after a killed or crashed nsm up', () => {
    const lab = testLabName('killed');
    let up: NsmChild | undefined;

    afterAll(async () => {
      // If the test failed before killing it, stop `up` first so it cannot build anything after `down`.
      if (up && up.child.exitCode === null && up.child.signalCode === null) {
        up.child.kill('SIGKILL');
        await up.exited;
      }
      await nsm(lab, 'down');
      expect(leftovers(lab)).toEqual(nothingLeft);
    }, 60_000);

    it('removes everything a SIGKILLed up had created', async () => {
      up = spawnNsm(lab, 'up', 'deploy/examples/kernel2ethernet2kernel');
      // Kill it midway: once the fabric, the registry and a manager exist, before the pods are up.
      await expect
        .poll(() => leftovers(lab).processes.length, { timeout: 20_000, interval: 50 })
        .toBeGreaterThanOrEqual(2);
      up.child.kill('SIGKILL');
      expect(await up.exited).toBe('SIGKILL');
      const orphans = leftovers(lab);
      expect(orphans.namespaces.length).toBeGreaterThan(0);
      expect(orphans.processes.length).toBeGreaterThan(0);
      expect(orphans.stateDir).toBe(true);

      const down = await nsm(lab, 'down');
      expect(down.code, down.stderr).toBe(0);
      expect(leftovers(lab)).toEqual(nothingLeft);
    }, 60_000);

    it('refuses up over a stray namespace of the lab and down removes it', async () => {
      const stray = `nsm-${lab}-stray`;
      execFileSync('ip', ['netns', 'add', stray]);
      try {
        const run = await nsm(lab, 'up', 'deploy/examples/kernel2kernel');
        expect(run.code).toBe(1);
        expect(run.stderr).toContain('a crashed run left parts of it');
        expect(leftovers(lab)).toEqual({ namespaces: [stray], processes: [], stateDir: false });
        expect((await nsm(lab, 'down')).code).toBe(0);
        expect(leftovers(lab)).toEqual(nothingLeft);
      } finally {
        // The test made it: it goes, also when `nsm` failed to remove it.
        if (leftovers(lab).namespaces.includes(stray)) execFileSync('ip', ['netns', 'del', stray]);
      }
    }, 30_000);
  });

  describe('nsm --help', () => {
    const lab = testLabName('help');

    it('prints usage for the command and every subcommand with exit 0', async () => {
      for (const sub of ['', 'up', 'status', 'check', 'logs', 'stop', 'start', 'down']) {
        const run = await nsm(lab, ...(sub ? [sub] : []), '--help');
        expect(run.code, `nsm ${sub} --help`).toBe(0);
        expect(run.stdout, `nsm ${sub} --help`).toContain(`Usage: nsm ${sub ? `${sub} ` : ''}[options]`);
      }
      const up = await nsm(lab, 'up', '--help');
      expect(up.stdout).toContain('--nodes <count>');
      expect(up.stdout).toContain('--timeout <duration>');
    }, 30_000);

    it('rejects an unknown subcommand or a missing argument with usage and a non-zero exit', async () => {
      const bogus = await nsm(lab, 'bogus');
      expect(bogus.code).not.toBe(0);
      expect(bogus.stderr).toContain("unknown command 'bogus'");
      const missing = await nsm(lab, 'up');
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain("missing required argument 'path'");
      expect(leftovers(lab)).toEqual(nothingLeft);
    }, 30_000);
  });
});

/**
 * The supervisor with real processes in a real namespace: a crashing component is restarted (at
 * once, then backing off) and counted; one stopped on purpose stays stopped until started; a
 * removed one is forgotten; shutdown stops pods before daemons; the report file follows it all.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@nsm-ts/sdk/core';
import type { ComponentSpec, SupervisorReport } from './spec.js';
import { Supervisor } from './supervisor.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('cli/src/lab/supervisor/supervisor'), () => {
  const ns = `nsmt-sup${process.pid}`;

  describe('Supervisor (it runs components with ip netns exec)', () => {
    let dir: string;
    const supervisors: Supervisor[] = [];

    beforeAll(() => {
      execFileSync('ip', ['netns', 'add', ns]);
      dir = mkdtempSync(join(tmpdir(), 'nsm-supervisor-'));
      // A component that exits with code 3 at once, one that runs until stopped (and logs its exit).
      writeFileSync(join(dir, 'crash.mjs'), 'process.exit(3);\n');
      writeFileSync(
        join(dir, 'serve.mjs'),
        [
          "import { appendFileSync, writeFileSync } from 'node:fs';",
          'setInterval(() => {}, 1000);',
          "writeFileSync(process.env.ORDER + '.' + process.env.WHO.replace('/', '-'), 'ready');",
          "process.on('SIGTERM', () => { appendFileSync(process.env.ORDER, process.env.WHO + '\\n'); process.exit(0); });",
        ].join('\n'),
      );
    });

    afterAll(async () => {
      await Promise.all(supervisors.map((s) => s.shutdown()));
      execFileSync('ip', ['netns', 'del', ns]);
      rmSync(dir, { recursive: true, force: true });
    });

    const make = (): { supervisor: Supervisor; report: () => SupervisorReport } => {
      const reportFile = join(dir, `report-${supervisors.length}.json`);
      const supervisor = new Supervisor({ lab: 'test', log: silentLogger, reportFile });
      supervisors.push(supervisor);
      return {
        supervisor,
        report: () => JSON.parse(readFileSync(reportFile, 'utf8')) as SupervisorReport,
      };
    };

    const spec = (name: string, script: string, kind: ComponentSpec['kind'] = 'pod'): ComponentSpec => ({
      name,
      kind,
      netns: ns,
      script: join(dir, script),
      log: join(dir, `${name.replace('/', '-')}.log`),
      restart: 'Always',
      env: { WHO: name, ORDER: join(dir, 'order.txt') },
    });

    it('restarts a crashing component, counting restarts and backing off', async () => {
      const { supervisor, report } = make();
      await supervisor.start(spec('pod/crashy', 'crash.mjs'));
      await expect.poll(() => supervisor.list()[0]?.restarts, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      const [crashy] = supervisor.list();
      expect(crashy?.lastExit).toMatchObject({ code: 3, signal: null });
      // A crash loop waits between starts: most of the time it is in backoff.
      await expect.poll(() => supervisor.list()[0]?.state).toBe('backoff');
      expect(report().components[0]?.name).toBe('pod/crashy');
      await supervisor.stop('crashy');
      const restarts = supervisor.list()[0]!.restarts;
      await new Promise((r) => setTimeout(r, 600));
      expect(supervisor.list()[0]).toMatchObject({ state: 'stopped', restarts });
    });

    it('leaves a component stopped on purpose alone until it is started again', async () => {
      const { supervisor, report } = make();
      await supervisor.start(spec('pod/steady', 'serve.mjs'));
      const first = supervisor.list()[0]!;
      expect(first).toMatchObject({ state: 'running', restarts: 0 });
      expect(await supervisor.stop('steady')).toBe(true);
      expect(await supervisor.stop('steady')).toBe(false);
      expect(report().components[0]).toMatchObject({ state: 'stopped' });
      expect(report().components[0]?.pid).toBeUndefined();
      expect(await supervisor.start('steady')).toBe(true);
      expect(await supervisor.start('pod/steady')).toBe(false);
      const again = supervisor.list()[0]!;
      expect(again.state).toBe('running');
      expect(again.pid).not.toBe(first.pid);
      expect(again.restarts).toBe(0); // started by hand, not restarted after a crash
    });

    it('restarts a killed component at once', async () => {
      const { supervisor } = make();
      await supervisor.start(spec('nsmgr-x', 'serve.mjs', 'manager'));
      const pid = supervisor.list()[0]!.pid!;
      process.kill(pid, 'SIGKILL');
      await expect
        .poll(() => supervisor.list()[0], { timeout: 5000 })
        .toMatchObject({ state: 'running', restarts: 1 });
      expect(supervisor.list()[0]?.pid).not.toBe(pid);
      expect(supervisor.list()[0]?.lastExit).toMatchObject({ signal: 'SIGKILL' });
    });

    it('names the known components for an unknown one, and forgets a removed one', async () => {
      const { supervisor } = make();
      await supervisor.start(spec('pod/a', 'serve.mjs'));
      await expect(supervisor.stop('nope')).rejects.toThrow('no component or pod "nope"; known: a');
      await supervisor.remove('a');
      expect(supervisor.list()).toEqual([]);
    });

    it('shuts down client pods, then the pods that serve, then daemons', async () => {
      const { supervisor } = make();
      rmSync(join(dir, 'order.txt'), { force: true });
      const endpoint = spec('pod/endpoint', 'serve.mjs');
      await supervisor.start(spec('registry', 'serve.mjs', 'registry'));
      await supervisor.start({ ...endpoint, env: { ...endpoint.env, NSM_SERVICE_NAMES: 's' } });
      await supervisor.start(spec('pod/client', 'serve.mjs'));
      await supervisor.start(spec('forwarder-x', 'serve.mjs', 'forwarder'));
      // Ready: their SIGTERM handlers are installed.
      for (const who of ['registry', 'pod-endpoint', 'pod-client', 'forwarder-x'])
        await expect.poll(() => existsSync(join(dir, `order.txt.${who}`))).toBe(true);
      await supervisor.shutdown();
      expect(readFileSync(join(dir, 'order.txt'), 'utf8').trim().split('\n')).toEqual([
        'pod/client',
        'pod/endpoint',
        'forwarder-x',
        'registry',
      ]);
      expect(supervisor.list().map((c) => c.state)).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
      await expect(supervisor.start('registry')).rejects.toThrow('shutting down');
    });
  });
});

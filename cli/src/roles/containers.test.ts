import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@nsm-ts/sdk/core';
import { readContainerSpecs, runContainers, type RunningContainers } from './containers.js';

const log = createLogger('containers-test', 'silent');

describe("a pod's own containers", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function run(specs: Parameters<typeof runContainers>[0]): { running: RunningContainers; prefix: string } {
    const dir = mkdtempSync(join(tmpdir(), 'nsm-containers-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const prefix = join(dir, 'pod-x');
    const running = runContainers(specs, { pod: `x-${process.pid}`, log, logPrefix: prefix });
    cleanups.push(() => running.stop());
    return { running, prefix };
  }

  it('runs a command with its env and logs its output; starts it again when it exits', async () => {
    const { running, prefix } = run([
      { name: 'say', command: ['sh', '-c', 'echo "$WORD"; exit 3'], env: { WORD: 'hello' } },
    ]);
    await expect.poll(() => running.status()[0]?.restarts ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    expect(running.status()[0]).toMatchObject({ name: 'say', lastExit: { code: 3, signal: null } });
    expect(readFileSync(`${prefix}.say.log`, 'utf8')).toContain('hello');
  });

  it('stops a running container and its children with the group', async () => {
    const { running } = run([{ name: 'loop', command: ['sh', '-c', 'sleep 30 & wait'], env: {} }]);
    await expect.poll(() => running.status()[0]?.state, { timeout: 5000 }).toBe('running');
    const pid = running.status()[0]!.pid!;
    await running.stop();
    expect(running.status()[0]).toMatchObject({ state: 'stopped' });
    const groupAlive = () => {
      try {
        process.kill(-pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // The background sleep got the SIGTERM too (reaped by init a moment later).
    await expect.poll(groupAlive, { timeout: 3000 }).toBe(false);
  });

  it('reports a command that cannot start, and keeps trying', async () => {
    const { running } = run([{ name: 'nope', command: ['/nonexistent/cmd'], env: {} }]);
    await expect.poll(() => running.status()[0]?.lastExit?.error, { timeout: 5000 }).toContain('ENOENT');
    expect(running.status()[0]?.state).toBe('backoff');
  });

  it('refuses an NSM_POD_CONTAINERS that is not the expected JSON, naming it', () => {
    for (const text of [
      '{',
      '[{"name":"a"}]',
      '[{"name":"a","command":[]}]',
      '[{"name":"a","command":[1]}]',
    ]) {
      const problems: string[] = [];
      expect(readContainerSpecs(text, problems)).toEqual([]);
      expect(problems).toEqual([
        'NSM_POD_CONTAINERS is not the JSON list expected: [{ "name": ..., "command": [...], "env": {...} }]',
      ]);
    }
    expect(readContainerSpecs(undefined, [])).toEqual([]);
  });
});

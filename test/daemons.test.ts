/**
 * The daemons as real processes: a bad configuration gets the usage and exit code 2; a good one
 * serves (health SERVING), and SIGTERM ends it with exit code 0 and its socket removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext } from '@nsm-ts/sdk/core';
import { dial } from '@nsm-ts/sdk/grpc';
import type { Identity } from '@nsm-ts/sdk/security';
import { issueSvid, writeIdentity } from '@nsm-ts/cli/pki';
import { MeshPki } from '../bench/src/mesh/pki.js';
import { startWorkloadApi } from './harness/workload-api.js';

const main = (daemon: string): string => join(import.meta.dirname, '..', daemon, 'dist', 'main.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function start(
  daemon: string,
  env: Record<string, string>,
): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  if (!existsSync(main(daemon)))
    throw new Error(`${main(daemon)} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [main(daemon)], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

async function healthy(url: string, identity: Identity): Promise<void> {
  const client = dial(url, { dialTimeoutMs: 200, identity });
  try {
    await expect
      .poll(() => client.health(createContext({ deadline: Date.now() + 500 })).catch(() => 'down'), {
        timeout: 10_000,
        interval: 100,
      })
      .toBe('SERVING');
  } finally {
    client.close();
  }
}

describe.each([
  ['registry', { NSM_LISTEN_ON: 'http://nope' }, /NSM_LISTEN_ON/],
  [
    'manager',
    { NSM_LISTEN_ON: 'unix:///tmp/x.sock', NSM_MAX_TOKEN_LIFETIME: 'soon' },
    /NSM_MAX_TOKEN_LIFETIME="soon"/,
  ],
  ['forwarder', { NSM_LABELS: 'p2p', NSM_VXLAN_PORT: '70000' }, /NSM_LABELS.*\n.*NSM_VXLAN_PORT="70000"/],
  ['manager', { NSM_LISTEN_ON: 'unix:///tmp/x.sock' }, /no identity for mTLS: set NSM_IDENTITY_DIR/],
  ['registry', { NSM_INSECURE: 'perhaps' }, /NSM_INSECURE="perhaps": expected true or false/],
])('%s with a bad configuration', (daemon, env, problem) => {
  it('prints every problem and its usage, and exits 2', async () => {
    const run = start(daemon, env);
    expect(await run.exit).toBe(2);
    expect(run.output()).toMatch(problem);
    expect(run.output()).toMatch(/Usage:/);
  });
});

describe('daemons serve and stop cleanly', () => {
  it('registry, manager and forwarder come up on their sockets and exit 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsm-daemons-'));
    dirs.push(dir);
    const registryUrl = `unix://${join(dir, 'registry.sock')}`;
    const managerUrl = `unix://${join(dir, 'nsm.sock')}`;
    const forwarderUrl = `unix://${join(dir, 'forwarder.sock')}`;
    // Each daemon gets its identity as files, the way `nsm up` writes them.
    const pki = await MeshPki.create();
    const identityDir = async (...segments: string[]): Promise<string> => {
      const where = join(dir, segments.join('-'));
      const svid = await issueSvid(pki.ca, { id: pki.id(...segments), lifetimeMs: 3_600_000 });
      writeIdentity(where, svid, pki.ca.certPem);
      return where;
    };
    const operator = await pki.identity(['operator', 'test']);
    const registry = start('registry', {
      NSM_LISTEN_ON: registryUrl,
      NSM_LOG_LEVEL: 'warn',
      NSM_IDENTITY_DIR: await identityDir('registry'),
    });
    await healthy(registryUrl, operator);
    const manager = start('manager', {
      NODE_NAME: 'node-1',
      NSM_LISTEN_ON: managerUrl,
      NSM_REGISTRY_URL: registryUrl,
      NSM_LOG_LEVEL: 'warn',
      NSM_IDENTITY_DIR: await identityDir('nsmgr', 'node-1'),
    });
    await healthy(managerUrl, operator);
    const forwarder = start('forwarder', {
      NSM_IDENTITY_DIR: await identityDir('forwarder', 'node-1'),
      NODE_NAME: 'node-1',
      NSM_NAME: 'forwarder-daemon-test',
      CLUSTER_NAME: 'daemon-test',
      NSM_LISTEN_ON: forwarderUrl,
      NSM_CONNECT_TO: managerUrl,
      NSM_LOG_LEVEL: 'warn',
    });
    await healthy(forwarderUrl, operator);
    for (const [run, url] of [
      [forwarder, forwarderUrl],
      [manager, managerUrl],
      [registry, registryUrl],
    ] as const) {
      run.child.kill('SIGTERM');
      expect(await run.exit, run.output()).toBe(0);
      expect(existsSync(url.slice('unix://'.length))).toBe(false);
    }
  }, 30_000);
});

describe('daemon identity sources and debugging switches', () => {
  it('takes its identity from a SPIFFE Workload API (SPIFFE_ENDPOINT_SOCKET) and serves mTLS with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsm-daemons-spire-'));
    dirs.push(dir);
    const pki = await MeshPki.create();
    const agent = await startWorkloadApi(pki, pki.id('registry'), join(dir, 'agent.sock'));
    try {
      const url = `unix://${join(dir, 'registry.sock')}`;
      const run = start('registry', { NSM_LISTEN_ON: url, SPIFFE_ENDPOINT_SOCKET: agent.address });
      await healthy(url, await pki.identity(['operator', 'test']));
      expect(run.output()).toMatch(
        /"id":"spiffe:\/\/nsm.test\/registry".*"msg":"identity from the SPIFFE Workload API"/,
      );
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
    } finally {
      await agent.close();
    }
  }, 30_000);

  it.each([
    [{ NSM_INSECURE: 'true' }, /NSM_INSECURE is set: no mTLS and no token verification/],
    [{ NSM_AUTHORIZE: 'false' }, /NSM_AUTHORIZE=false: the token policies are off/],
  ])(
    'warns loudly when security is turned down (%j)',
    async (switches, warning) => {
      const dir = mkdtempSync(join(tmpdir(), 'nsm-daemons-off-'));
      dirs.push(dir);
      const pki = await MeshPki.create();
      const where = join(dir, 'id');
      writeIdentity(
        where,
        await issueSvid(pki.ca, { id: pki.id('registry'), lifetimeMs: 600_000 }),
        pki.ca.certPem,
      );
      const url = `unix://${join(dir, 'registry.sock')}`;
      const run = start('registry', { NSM_LISTEN_ON: url, NSM_IDENTITY_DIR: where, ...switches });
      await expect.poll(() => run.output(), { timeout: 10_000 }).toMatch(warning);
      expect(run.output()).toMatch(/"level":40/);
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
    },
    30_000,
  );
});

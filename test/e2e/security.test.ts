/**
 * Security of the lab end to end, as root, with the built `nsm` command: identities that expire in
 * 30 s are renewed before they expire and the links, their refreshes and new clients keep working past
 * the first expiry with no refusal logged; the tokens `nsm status --json` shows decode, with a tool of
 * the user's own, to SPIFFE IDs chained hop to hop; `nsc --once` (the init container) joins with an
 * identity from `nsm identity` and leaves its connection up, which the sidecar `nsc` takes over without
 * replacing the interface; `nsm identity` refuses what it must not issue, naming why;
 * `nsm up --insecure` runs without a CA, says so loudly, and still passes `nsm check`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@nsm-ts/sdk';
import { fileIdentity } from '@nsm-ts/sdk/security';
import { Lab } from '@nsm-ts/cli/lab';
import { statusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, nsm, testLabName } from '../harness/nsm-cli.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

const nscPath = join(import.meta.dirname, '..', '..', 'cli', 'dist', 'roles', 'nsc.js');
const nothingLeft = { namespaces: [], processes: [], stateDir: false };
const REFUSALS =
  /PERMISSION_DENIED|tokens_(valid|expired|chained|ownership)|prev_token_signed|UNAUTHENTICATED/;

/** Serial and expiry of the certificate in every identity directory of `lab`. */
function certificates(lab: Lab): Map<string, { serial: string; notAfter: number }> {
  const root = join(lab.dir, 'identities');
  const found = new Map<string, { serial: string; notAfter: number }>();
  for (const name of readdirSync(root)) {
    const cert = new X509Certificate(readFileSync(join(root, name, 'svid.pem')));
    found.set(name, { serial: cert.serialNumber, notAfter: Date.parse(cert.validTo) });
  }
  return found;
}

/** Lines of the lab's logs that tell of a refused call. */
function refusalsLogged(lab: Lab): string[] {
  return readdirSync(lab.logDir).flatMap((file) =>
    readFileSync(join(lab.logDir, file), 'utf8')
      .split('\n')
      .filter((line) => REFUSALS.test(line))
      .map((line) => `${file}: ${line.slice(0, 300)}`),
  );
}

describe.skipIf(!isRoot)(rootTitle('test/e2e/security'), () => {
  describe('identities that live 30 s', () => {
    const name = testLabName('rot');
    const lab = new Lab(name);
    const out = mkdtempSync(join(tmpdir(), 'nsm-e2e-identity-'));

    beforeAll(async () => {
      const run = await nsm(name, 'up', 'deploy/examples/kernel2kernel', '--cert-lifetime', '30s');
      expect(run.code, run.stderr).toBe(0);
    }, 90_000);

    afterAll(async () => {
      await nsm(name, 'down');
      rmSync(out, { recursive: true, force: true });
      expect(leftovers(name)).toEqual(nothingLeft);
    }, 60_000);

    it('renews every identity before it expires; links, refreshes and new clients work past the first expiry', async () => {
      const first = certificates(lab);
      expect([...first.keys()].sort()).toEqual(
        expect.arrayContaining(['registry', 'nsmgr-node-1', 'forwarder-node-1']),
      );
      for (const { notAfter } of first.values()) expect(notAfter - Date.now()).toBeLessThanOrEqual(31_000);
      const lastExpiry = Math.max(...[...first.values()].map((c) => c.notAfter));
      await new Promise((r) => setTimeout(r, lastExpiry + 2_000 - Date.now()));

      const now = certificates(lab);
      for (const [component, before] of first) {
        const after = now.get(component);
        expect(after?.serial, component).not.toBe(before.serial);
        expect(after!.notAfter, component).toBeGreaterThan(Date.now());
      }
      const check = await checkJson(name);
      expect(check.links.filter((l) => !l.ok).map((l) => l.problems)).toEqual([]);
      expect(check.ok).toBe(true);

      // A workload the lab did not start joins with an identity issued now.
      const issued = await nsm(name, 'identity', 'ns/default/pod/late', '--out', out, '--lifetime', '30s');
      expect(issued.code, issued.stderr).toBe(0);
      const identity = await fileIdentity({ dir: out });
      const client = createClient({
        name: 'late',
        managerUrl: lab.readState()!.nodes[0]!.managerUrl,
        identity,
      });
      try {
        const conn = await client.request({ networkService: 'kernel2kernel', mechanisms: ['NOOP'] });
        expect(conn.network_service_endpoint_name).toBe('nse-kernel');
        await client.close(conn);
      } finally {
        await client.shutdown();
        identity.close();
      }
      // Nothing was refused on the way: the rotations came before the expiries.
      expect(refusalsLogged(lab)).toEqual([]);
      // Each identity was issued at start and renewed every 20 s (two thirds of 30 s), not more often.
      const issues = readFileSync(lab.log('supervisor'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('"identity issued"') && line.includes('"component":"registry"'));
      expect(issues.length).toBeGreaterThanOrEqual(2);
      expect(issues.length).toBeLessThanOrEqual(3);
    }, 60_000);

    it('shows the tokens of a link in nsm status --json; decoded by python3 they chain sub → aud hop to hop', async () => {
      const [link] = (await statusJson(name)).links;
      expect(link?.path.map((s) => s.name)).toEqual([
        'nsc-kernel',
        'nsmgr-node-1',
        'forwarder-node-1',
        'nse-kernel',
      ]);
      const decode = [
        'import base64, json, sys',
        'for t in json.load(sys.stdin):',
        '    body = t.split(".")[1]',
        '    c = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))',
        '    print(c["sub"], c["aud"][0] if isinstance(c["aud"], list) else c["aud"])',
      ].join('\n');
      const out = execFileSync('python3', ['-c', decode], {
        input: JSON.stringify(link!.path.map((s) => s.token)),
        encoding: 'utf8',
      });
      const id = (p: string) => `spiffe://nsm.local/${p}`;
      expect(out.trim().split('\n')).toEqual([
        `${id('ns/default/pod/nsc-kernel')} ${id('nsmgr/node-1')}`,
        `${id('nsmgr/node-1')} ${id('forwarder/node-1')}`,
        `${id('forwarder/node-1')} ${id('ns/default/pod/nse-kernel')}`,
        `${id('ns/default/pod/nse-kernel')} ${id('forwarder/node-1')}`,
      ]);
    });

    it('nsc --once, as an init container: makes the connection in its pod, leaves it up and exits 0; the sidecar takes it over', async () => {
      const dir = join(out, 'init');
      expect((await nsm(name, 'identity', 'ns/default/pod/init-probe', '--out', dir)).code).toBe(0);
      const statusFile = join(out, 'init-status.json');
      const env = {
        PATH: process.env['PATH'] ?? '',
        POD_NAME: 'init-probe',
        NSM_IDENTITY_DIR: dir,
        NSM_CONNECT_TO: lab.readState()!.nodes[0]!.managerUrl,
        NSM_POD_STATUS: statusFile,
      };
      const nscArgs = (once: boolean) => [
        'netns',
        'exec',
        lab.netns('nsc-kernel'),
        process.execPath,
        nscPath,
        ...(once ? ['--once'] : []),
      ];
      const nsc = (extra: Record<string, string>) =>
        spawnSync('ip', nscArgs(true), { env: { ...env, ...extra }, encoding: 'utf8', timeout: 30_000 });
      const ok = nsc({ NSM_NETWORK_SERVICES: 'kernel://kernel2kernel/nsm-9' });
      expect(ok.status, ok.stderr).toBe(0);
      // Left up: the interface is in the pod after the command is gone.
      const link = () =>
        (
          JSON.parse(
            execFileSync('ip', ['-n', lab.netns('nsc-kernel'), '-j', 'link'], { encoding: 'utf8' }),
          ) as {
            ifname: string;
            ifindex: number;
          }[]
        ).find((l) => l.ifname === 'nsm-9');
      const before = link();
      expect(before).toBeDefined();
      const held = () =>
        JSON.parse(readFileSync(statusFile, 'utf8')) as {
          pid: number;
          requests: { state: string; connectionId?: string }[];
        };
      const initConnection = held().requests[0]!.connectionId;
      expect(initConnection).toBeTruthy();
      // The sidecar starts on the same status file: it refreshes the same connection, the interface stays.
      const sidecar = spawn('ip', nscArgs(false), {
        env: { ...env, NSM_NETWORK_SERVICES: 'kernel://kernel2kernel/nsm-9' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      sidecar.stdout.on('data', (c: Buffer) => (log += c.toString()));
      sidecar.stderr.on('data', (c: Buffer) => (log += c.toString()));
      const exited = new Promise((r) => sidecar.once('exit', r));
      try {
        await expect
          .poll(() => log, { timeout: 15_000 })
          .toContain('connection taken over from the previous process of the pod');
        expect(held().requests[0]).toMatchObject({ state: 'up', connectionId: initConnection });
        expect(link()?.ifindex).toBe(before!.ifindex);
      } finally {
        sidecar.kill('SIGTERM');
        await exited;
      }
      // The sidecar owned it: stopping closes it.
      await expect.poll(() => link(), { timeout: 10_000 }).toBeUndefined();
      const late = nsc({ NSM_NETWORK_SERVICES: 'kernel://no-such-service/nsm-8', NSM_REQUEST_TIMEOUT: '2s' });
      expect(late.status).toBe(1);
      expect(late.stderr).toContain('nsc --once: not up after 2s');
      expect(late.stderr).toContain('no-such-service/nsm-8');
    }, 90_000);

    it.each([
      ['nsmgr/node-1', '"nsmgr" identities are the lab\'s own components\''],
      ['operator/me', '"operator" identities are the lab\'s own components\''],
      ['spiffe://example.org/ns/default/pod/x', "the lab's trust domain is nsm.local, not example.org"],
      ['spiffe://nsm.local', 'a workload ID needs a path'],
      ['ns/default/pod/x?y', 'has a bad path segment "x?y": expected non-empty segments'],
    ])('nsm identity %s is refused, exit 2: %s', async (id, why) => {
      const run = await nsm(name, 'identity', id, '--out', join(out, 'refused'));
      expect(run.stderr).toContain(why);
      expect(run.code).toBe(2);
      expect(existsSync(join(out, 'refused'))).toBe(false);
    });

    it('nsm identity refuses a lifetime under 30 s, and a lab that is not up', async () => {
      const short = await nsm(name, 'identity', 'ns/default/pod/x', '--out', out, '--lifetime', '5s');
      expect(short.stderr).toContain('--lifetime 5s: expected at least 30s');
      expect(short.code).toBe(2);
      const absent = testLabName('absent');
      const none = await nsm(absent, 'identity', 'ns/default/pod/x', '--out', out);
      expect(none.stderr).toContain(`lab "${absent}" is not up`);
      expect(none.code).not.toBe(0);
    });
  });

  describe('nsm up --insecure', () => {
    const name = testLabName('insec');
    const lab = new Lab(name);
    let up: { code: number; stderr: string };

    beforeAll(async () => {
      up = await nsm(name, 'up', 'deploy/examples/kernel2kernel', '--insecure');
    }, 90_000);

    afterAll(async () => {
      await nsm(name, 'down');
      expect(leftovers(name)).toEqual(nothingLeft);
    }, 60_000);

    it('warns, makes no CA, passes nsm check, and issues no identities', async () => {
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toContain('warning: --insecure: no mTLS and no token verification');
      expect(existsSync(lab.pkiDir)).toBe(false);
      expect((await checkJson(name)).ok).toBe(true);
      const issued = await nsm(name, 'identity', 'ns/default/pod/x', '--out', join(tmpdir(), 'never'));
      expect(issued.stderr).toContain('runs --insecure: it has no CA');
      expect(issued.code).toBe(2);
      // Every daemon and pod was told to run insecure, and said so in its log.
      const warned = readdirSync(lab.logDir).filter((f) =>
        readFileSync(join(lab.logDir, f), 'utf8').includes('NSM_INSECURE'),
      );
      expect(warned).toEqual(expect.arrayContaining(['registry.log', 'nsmgr-node-1.log']));
    }, 60_000);
  });
});

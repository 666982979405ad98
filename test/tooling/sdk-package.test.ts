/**
 * What a CNF installs: the SDK packed with `npm pack` (with @nsm-ts/proto, its one mesh dependency)
 * goes into an empty project with no compiler on the PATH, from the local npm cache only (no
 * network), and a client and an endpoint written against it connect through a real manager.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, type Mesh } from '../../bench/src/mesh/mesh.js';
import { registerService } from '../../bench/src/mesh/services.js';
import { issueSvid, writeIdentity } from '@nsm-ts/cli/pki';

const root = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'nsm-cnf-'));
const project = join(work, 'cnf');
const bin = join(work, 'bin');
const identityDir = join(work, 'identity');
let mesh: Mesh | undefined;

interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** The lock entries (from the repository's lock) that the packages need, found as Node resolves them. */
function closure(lock: Record<string, LockEntry>, names: string[]): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {};
  const visit = (from: string, name: string): void => {
    for (
      let dir = from;
      ;
      dir = dir.includes('/node_modules/') ? dir.slice(0, dir.lastIndexOf('/node_modules/')) : ''
    ) {
      const path = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      const entry = lock[path];
      if (entry && !entry.link) {
        if (!out[path]) {
          out[path] = entry;
          for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies }))
            visit(path, dep);
        }
        return;
      }
      if (!dir) throw new Error(`${name} (needed by ${from || 'the project'}) is not in package-lock.json`);
    }
  };
  for (const name of names) visit('', name);
  return out;
}

const integrityOf = (file: string): string =>
  `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;

beforeAll(async () => {
  mkdirSync(project, { recursive: true });
  execFileSync('npm', ['pack', '-w', '@nsm-ts/proto', '-w', '@nsm-ts/sdk', '--pack-destination', project], {
    cwd: root,
    stdio: 'pipe',
  });
  const tarballs = readdirSync(project).filter((f) => f.endsWith('.tgz'));
  const tarball = (pkg: string): string => tarballs.find((f) => f.startsWith(`nsm-ts-${pkg}-`))!;
  const manifest = (pkg: string) =>
    JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8')) as {
      version: string;
      dependencies: Record<string, string>;
    };
  const rootLock = (
    JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    }
  ).packages;
  const external = [
    ...new Set([
      ...Object.keys(manifest('sdk').dependencies),
      ...Object.keys(manifest('proto').dependencies),
    ]),
  ].filter((d) => !d.startsWith('@nsm-ts/'));
  const ours = Object.fromEntries(
    ['sdk', 'proto'].map((pkg) => [
      `node_modules/@nsm-ts/${pkg}`,
      {
        version: manifest(pkg).version,
        resolved: `file:${tarball(pkg)}`,
        integrity: integrityOf(join(project, tarball(pkg))),
        dependencies: manifest(pkg).dependencies,
      },
    ]),
  );
  const deps = { '@nsm-ts/sdk': `file:${tarball('sdk')}`, '@nsm-ts/proto': `file:${tarball('proto')}` };
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'cnf', type: 'module', dependencies: deps }),
  );
  writeFileSync(
    join(project, 'package-lock.json'),
    JSON.stringify({
      name: 'cnf',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'cnf', dependencies: deps }, ...ours, ...closure(rootLock, external) },
    }),
  );
  // A PATH with node, npm and a shell only: no g++, cc, make or python, so nothing can be compiled.
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  symlinkSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim(), join(bin, 'npm'));
  mesh = await createMesh({ nodes: 1 });
  await registerService(mesh, { name: 'packed', payload: 'ETHERNET' });
  // The CNF's identity as `nsm identity` hands it out: key, certificate and trust bundle as files.
  const ca = mesh.pki!.ca;
  writeIdentity(
    identityDir,
    await issueSvid(ca, { id: mesh.pki!.id('ns', 'default', 'pod', 'packed-cnf'), lifetimeMs: 3_600_000 }),
    ca.certPem,
  );
}, 120_000);

afterAll(async () => {
  await mesh?.close();
  rmSync(work, { recursive: true, force: true });
}, 30_000);

describe('the packed SDK', () => {
  it('installs offline with no compiler on the PATH, and holds no native code', () => {
    const env = { PATH: bin, HOME: process.env['HOME'] ?? '/root', npm_config_update_notifier: 'false' };
    expect(() =>
      execFileSync(
        join(bin, 'sh'),
        ['-c', 'command -v g++ || command -v cc || command -v make || command -v python3'],
        {
          env,
        },
      ),
    ).toThrow();
    execFileSync('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: project, env, stdio: 'pipe' });
    const installed = readdirSync(join(project, 'node_modules'), { recursive: true }) as string[];
    expect(installed.filter((f) => f.endsWith('.node') || f.endsWith('binding.gyp'))).toEqual([]);
    // The SDK brings the API and nothing of the daemons, the CLI or the kernel code.
    expect(readdirSync(join(project, 'node_modules', '@nsm-ts')).sort()).toEqual(['proto', 'sdk']);
  }, 120_000);

  it('runs an endpoint and a client written against it, through a real manager', async () => {
    const manager = mesh!.node(1).managerUrl;
    writeFileSync(
      join(project, 'cnf.js'),
      `import { createClient, createEndpoint } from '@nsm-ts/sdk';
import { fileIdentity } from '@nsm-ts/sdk/security';
const identity = await fileIdentity({ dir: ${JSON.stringify(identityDir)} });
const nse = await createEndpoint({ name: 'packed-nse', serviceNames: ['packed'], cidrPrefix: '10.99.0.0/24', managerUrl: ${JSON.stringify(manager)}, listenOn: ${JSON.stringify(`unix://${join(work, 'nse.sock')}`)}, identity });
const client = createClient({ name: 'packed-nsc', managerUrl: ${JSON.stringify(manager)}, identity });
const conn = await client.request({ networkService: 'packed', mechanisms: ['NOOP'] });
console.log(JSON.stringify({ endpoint: conn.network_service_endpoint_name, src: conn.context.ip_context.src_ip_addrs, served: nse.connections().length }));
await client.shutdown();
await nse.close();
identity.close();
`,
    );
    // Not execFileSync: the manager it talks to runs in this process and must keep serving.
    const { stdout } = await promisify(execFile)(join(bin, 'node'), ['cnf.js'], {
      cwd: project,
      timeout: 30_000,
    });
    expect(JSON.parse(stdout.trim())).toEqual({ endpoint: 'packed-nse', src: ['10.99.0.2/32'], served: 1 });
    expect(dirname(join(project, 'node_modules', '@nsm-ts', 'sdk'))).toContain(work);
  }, 60_000);
});

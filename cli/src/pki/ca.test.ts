import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  fileIdentity,
  IDENTITY_FILES,
  parsePemCertificates,
  spiffeIdOfCertificate,
  spiffeIdProblem,
  svidFromPem,
  verifySvidChain,
} from '@nsm-ts/sdk/security';
import { caFromPem, createCa, issueSvid } from './ca.js';
import { readCa, writeCa, writeIdentity } from './files.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-pki-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('SPIFFE IDs', () => {
  it.each(['spiffe://nsm.local', 'spiffe://nsm.local/nsmgr/node-1', 'spiffe://a-b_c.d/ns/default/pod/x.1'])(
    'accepts %s',
    (id) => expect(spiffeIdProblem(id)).toBeUndefined(),
  );
  it.each([
    ['http://nsm.local/x', /is not a SPIFFE ID/],
    ['spiffe://NSM.local/x', /bad trust domain/],
    ['spiffe://nsm.local/a//b', /bad path segment ""/],
    ['spiffe://nsm.local/a/../b', /bad path segment "\.\."/],
    ['spiffe://nsm.local/x/', /bad path segment ""/],
    ['spiffe://nsm.local/a b', /bad path segment "a b"/],
  ])('refuses %s', (id, why) => expect(spiffeIdProblem(id)).toMatch(why));
});

describe('mesh CA', () => {
  it('issues SVIDs whose chain leads to the CA, with the SPIFFE ID as the only URI SAN', async () => {
    const ca = await createCa({ trustDomain: 'nsm.local' });
    expect(ca.certificate.ca).toBe(true);
    const svid = await issueSvid(ca, { id: 'spiffe://nsm.local/nsmgr/node-1', lifetimeMs: 3_600_000 });
    const [leaf] = parsePemCertificates(svid.chainPem, 'svid');
    expect(leaf!.ca).toBe(false);
    expect(spiffeIdOfCertificate(leaf!).id).toBe('spiffe://nsm.local/nsmgr/node-1');
    expect(leaf!.checkIssued(ca.certificate)).toBe(true);
    const id = verifySvidChain([leaf!], [ca.certificate], Date.now());
    expect(id.path).toBe('/nsmgr/node-1');
    expect(svidFromPem(svid.chainPem, svid.keyPem, 'svid').id.id).toBe(svid.id);
    // valid for the asked lifetime, from a minute in the past
    expect(Date.parse(leaf!.validTo) - Date.now()).toBeGreaterThan(3_590_000);
  });

  it('refuses chains from another CA, expired or not yet valid ones, and CA certificates as leaves', async () => {
    const ca = await createCa({ trustDomain: 'nsm.local' });
    const rogue = await createCa({ trustDomain: 'nsm.local' });
    const svid = await issueSvid(rogue, { id: 'spiffe://nsm.local/nsmgr/node-1', lifetimeMs: 60_000 });
    const leaf = new X509Certificate(svid.chainPem);
    expect(() => verifySvidChain([leaf], [ca.certificate], Date.now())).toThrow(
      /spiffe:\/\/nsm.local\/nsmgr\/node-1 is not signed by the trust bundle/,
    );
    const ok = new X509Certificate(
      (await issueSvid(ca, { id: 'spiffe://nsm.local/x', lifetimeMs: 60_000 })).chainPem,
    );
    expect(() => verifySvidChain([ok], [ca.certificate], Date.now() + 120_000)).toThrow(/expired at/);
    expect(() => verifySvidChain([ok], [ca.certificate], Date.now() - 3_600_000)).toThrow(/not valid before/);
    expect(() => verifySvidChain([ca.certificate], [ca.certificate], Date.now())).toThrow(/is a CA/);
  });

  it('refuses to issue outside its trust domain, without a path or with a bad lifetime', async () => {
    const ca = await createCa({ trustDomain: 'nsm.local' });
    await expect(issueSvid(ca, { id: 'spiffe://other.td/x', lifetimeMs: 60_000 })).rejects.toThrow(
      /the CA is for trust domain nsm.local/,
    );
    await expect(issueSvid(ca, { id: 'spiffe://nsm.local', lifetimeMs: 60_000 })).rejects.toThrow(
      /needs a path/,
    );
    await expect(issueSvid(ca, { id: 'spiffe://nsm.local/x', lifetimeMs: 0 })).rejects.toThrow(/too short/);
    await expect(issueSvid(ca, { id: 'nsmgr-1', lifetimeMs: 60_000 })).rejects.toThrow(/not a SPIFFE ID/);
  });

  it('stores the CA and identities as 0600 files and reads them back; bad files are named', async () => {
    const dir = tempDir();
    const ca = await createCa({ trustDomain: 'lab.test' });
    writeCa(join(dir, 'ca'), ca);
    expect(statSync(join(dir, 'ca', 'ca_key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'ca')).mode & 0o777).toBe(0o700);
    const again = readCa(join(dir, 'ca'));
    expect(again.trustDomain).toBe('lab.test');
    expect(() => readCa(join(dir, 'nowhere'))).toThrow(/cannot read the mesh CA file .*nowhere\/ca.pem/);
    const other = await createCa({ trustDomain: 'lab.test' });
    expect(() => caFromPem(ca.certPem, other.keyPem)).toThrow(/the key does not belong to the certificate/);
    const svid = await issueSvid(ca, { id: 'spiffe://lab.test/ns/default/pod/web', lifetimeMs: 60_000 });
    writeIdentity(join(dir, 'web'), svid, ca.certPem);
    for (const f of Object.values(IDENTITY_FILES))
      expect(statSync(join(dir, 'web', f)).mode & 0o777).toBe(0o600);
    const identity = await fileIdentity({ dir: join(dir, 'web') });
    try {
      expect(identity.id).toBe('spiffe://lab.test/ns/default/pod/web');
      expect(identity.trustDomain).toBe('lab.test');
      expect(identity.bundle()).toHaveLength(1);
    } finally {
      identity.close();
    }
    await expect(fileIdentity({ dir: join(dir, 'nothing') })).rejects.toThrow(
      /identity file .*nothing\/svid.pem does not exist: expected svid.pem, svid_key.pem, svid_bundle.pem/,
    );
    const mismatched = join(dir, 'mismatched');
    writeIdentity(mismatched, svid, ca.certPem);
    writeFileSync(
      join(mismatched, IDENTITY_FILES.key),
      (await issueSvid(ca, { id: 'spiffe://lab.test/y', lifetimeMs: 60_000 })).keyPem,
    );
    await expect(fileIdentity({ dir: mismatched })).rejects.toThrow(
      /the private key does not belong to the certificate/,
    );
    writeFileSync(join(mismatched, IDENTITY_FILES.svid), 'not a certificate');
    await expect(fileIdentity({ dir: mismatched })).rejects.toThrow(/svid.pem holds no PEM certificate/);
  });

  it('follows a rotation of the files, and keeps the current identity while a rotation is unreadable', async () => {
    const dir = tempDir();
    const ca = await createCa({ trustDomain: 'lab.test' });
    const first = await issueSvid(ca, { id: 'spiffe://lab.test/nsmgr/n1', lifetimeMs: 60_000 });
    writeIdentity(dir, first, ca.certPem);
    const identity = await fileIdentity({ dir, pollMs: 20 });
    try {
      const changed = new Promise<void>((resolve) => identity.onChange(resolve));
      const second = await issueSvid(ca, { id: 'spiffe://lab.test/nsmgr/n1', lifetimeMs: 120_000 });
      writeIdentity(dir, second, ca.certPem);
      await changed;
      expect(identity.svid().chainPem).toBe(second.chainPem);
      writeFileSync(join(dir, IDENTITY_FILES.svid), 'garbage');
      await new Promise((r) => setTimeout(r, 100));
      expect(identity.svid().chainPem).toBe(second.chainPem);
    } finally {
      identity.close();
    }
  });
});

/**
 * The mesh CA and issued identities on disk. Identity directories use the layout spiffe-helper writes
 * (`svid.pem`, `svid_key.pem`, `svid_bundle.pem`), so any SPIFFE-aware program can use them. Every file is
 * mode 0600 and written beside its final name, then renamed over it: a reader never sees half a rotation.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDENTITY_FILES } from '@nsm-ts/sdk/security';
import { invalidArgument } from '@nsm-ts/sdk/core';
import { caFromPem, type IssuedSvid, type MeshCa } from './ca.js';

/** File names of the CA inside its directory. */
export const CA_FILES = { cert: 'ca.pem', key: 'ca_key.pem' } as const;

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Writes the CA's certificate and key into `dir`. */
export function writeCa(dir: string, ca: MeshCa): void {
  ensureDir(dir);
  writeAtomically(join(dir, CA_FILES.key), ca.keyPem);
  writeAtomically(join(dir, CA_FILES.cert), ca.certPem);
}

/** Reads the CA from `dir`; INVALID_ARGUMENT names the file when it is missing or malformed. */
export function readCa(dir: string): MeshCa {
  const read = (name: string): string => {
    const path = join(dir, name);
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw invalidArgument(`cannot read the mesh CA file ${path}: ${(err as Error).message}`);
    }
  };
  return caFromPem(read(CA_FILES.cert), read(CA_FILES.key), `the mesh CA in ${dir}`);
}

/**
 * Writes an identity (key, certificate and the trust bundle) into `dir`; the certificate goes last, so a
 * watcher that sees it changed finds the matching key already in place.
 */
export function writeIdentity(dir: string, svid: IssuedSvid, bundlePem: string): void {
  ensureDir(dir);
  writeAtomically(join(dir, IDENTITY_FILES.bundle), bundlePem);
  writeAtomically(join(dir, IDENTITY_FILES.key), svid.keyPem);
  writeAtomically(join(dir, IDENTITY_FILES.svid), svid.chainPem);
}

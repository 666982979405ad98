/**
 * Identity from files, in the layout spiffe-helper writes: `svid.pem` (certificate chain, leaf first),
 * `svid_key.pem` (private key) and `svid_bundle.pem` (trust bundle). `nsm up` and `nsm identity` write the
 * same files. The files are polled: a rotation written beside (then renamed over) the old files is
 * picked up within `pollMs`.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import { MutableIdentity, svidFromPem, type Identity, type Svid } from './identity.js';
import { validity } from './x509.js';

/** File names inside an identity directory. */
export const IDENTITY_FILES = { svid: 'svid.pem', key: 'svid_key.pem', bundle: 'svid_bundle.pem' } as const;

/** Options for `fileIdentity`. */
export interface FileIdentityOptions {
  /** The directory holding svid.pem, svid_key.pem and svid_bundle.pem. */
  dir: string;
  /** How often the files are checked for a rotation (default 1 s). */
  pollMs?: number;
  log?: Logger;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalidArgument(
      code === 'ENOENT'
        ? `identity file ${path} does not exist: expected ${Object.values(IDENTITY_FILES).join(', ')} in the identity directory`
        : `cannot read identity file ${path}: ${(err as Error).message}`,
    );
  }
}

async function load(dir: string): Promise<{ svid: Svid; bundlePem: string }> {
  const paths = {
    svid: join(dir, IDENTITY_FILES.svid),
    key: join(dir, IDENTITY_FILES.key),
    bundle: join(dir, IDENTITY_FILES.bundle),
  };
  const read = await Promise.allSettled([readText(paths.svid), readText(paths.key), readText(paths.bundle)]);
  // The first problem in file order, whichever read failed first: one message for one directory.
  const failed = read.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const [chainPem, keyPem, bundlePem] = read.map((r) => (r as PromiseFulfilledResult<string>).value) as [
    string,
    string,
    string,
  ];
  return { svid: svidFromPem(chainPem, keyPem, paths.svid), bundlePem };
}

async function fingerprint(dir: string): Promise<string> {
  const stats = await Promise.all(
    Object.values(IDENTITY_FILES).map((f) =>
      stat(join(dir, f)).then(
        (s) => `${s.mtimeMs}:${s.size}:${s.ino}`,
        () => 'missing',
      ),
    ),
  );
  return stats.join('|');
}

/**
 * Loads the identity in `dir` (INVALID_ARGUMENT names the file and the problem) and follows its
 * rotations. A rotation that cannot be read (half written, say) keeps the current identity and is
 * logged; one nearing expiry without a rotation is warned about once.
 * Usage: `const identity = await fileIdentity({ dir: process.env.NSM_IDENTITY_DIR, log })`.
 */
export async function fileIdentity(options: FileIdentityOptions): Promise<Identity> {
  const { dir } = options;
  const log = options.log ?? silentLogger;
  let seen = await fingerprint(dir);
  const first = await load(dir);
  let failing = '';
  let warnedExpiry = false;
  const identity = new MutableIdentity(first.svid, first.bundlePem, {
    what: join(dir, IDENTITY_FILES.bundle),
    close: () => clearInterval(timer),
  });
  let busy = false;
  const poll = async (): Promise<void> => {
    const now = await fingerprint(dir);
    if (now !== seen) {
      try {
        const next = await load(dir);
        identity.update(next.svid, next.bundlePem, join(dir, IDENTITY_FILES.bundle));
        seen = now;
        failing = '';
        warnedExpiry = false;
        log.info(
          { id: next.svid.id.id, notAfter: new Date(next.svid.notAfter).toISOString() },
          'identity rotated',
        );
      } catch (err) {
        const message = (err as Error).message;
        if (message !== failing)
          log.warn(
            { dir, err: message },
            'identity files changed but cannot be loaded; keeping the current one',
          );
        failing = message;
      }
    }
    const svid = identity.svid();
    const { notBefore, notAfter } = validity(svid.chain[0]!);
    if (!warnedExpiry && Date.now() > notAfter - (notAfter - notBefore) / 6) {
      warnedExpiry = true;
      log.warn(
        { id: svid.id.id, notAfter: new Date(notAfter).toISOString(), dir },
        'identity certificate expires soon and has not been rotated',
      );
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void poll().finally(() => (busy = false));
  }, options.pollMs ?? 1000);
  timer.unref();
  return identity;
}

/**
 * The lab's identities: `nsm up` creates a mesh CA for the lab (trust domain `nsm.local`), the supervisor
 * issues each daemon and pod its X.509-SVID into its identity directory before starting it and again at
 * two thirds of its lifetime (the daemons pick the new files up), and the `nsm` command speaks as the
 * lab's operator with a short-lived identity of its own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@nsm-ts/sdk/core';
import { dial, type DialOptions, type MeshClient } from '@nsm-ts/sdk/grpc';
import {
  IDENTITY_FILES,
  parsePemCertificates,
  securityOf,
  spiffeId,
  spiffeIdOfCertificate,
  staticIdentity,
  svidFromPem,
  validity,
  type Security,
} from '@nsm-ts/sdk/security';
import { BACKDATE_MS, createCa, issueSvid, type MeshCa } from '../pki/ca.js';
import { readCa, writeCa, writeIdentity } from '../pki/files.js';
import type { Lab } from './lab.js';
import type { ComponentSpec } from './supervisor/spec.js';

/** The lab's trust domain. */
export const TRUST_DOMAIN = 'nsm.local';
/** Default lifetime of the certificates the lab issues. */
export const DEFAULT_CERT_LIFETIME_MS = 24 * 3_600_000;

/** Creates the lab's CA (at `nsm up`). */
export async function createLabCa(lab: Lab): Promise<MeshCa> {
  const ca = await createCa({ trustDomain: TRUST_DOMAIN });
  writeCa(lab.pkiDir, ca);
  return ca;
}

/** The SPIFFE ID of a lab component: `/registry`, `/nsmgr/<node>`, `/forwarder/<node>`, `/ns/<ns>/pod/<pod>`. */
export function componentId(kind: ComponentSpec['kind'], name: string, node?: string): string {
  switch (kind) {
    case 'registry':
      return spiffeId(TRUST_DOMAIN, 'registry');
    case 'manager':
      return spiffeId(TRUST_DOMAIN, 'nsmgr', node ?? name);
    case 'forwarder':
      return spiffeId(TRUST_DOMAIN, 'forwarder', node ?? name);
    case 'pod': {
      // Lab pods are `<name>` in namespace default, `<name>.<namespace>` in any other.
      const pod = name.replace(/^pod\//, '');
      const dot = pod.lastIndexOf('.');
      const [base, ns] = dot > 0 ? [pod.slice(0, dot), pod.slice(dot + 1)] : [pod, 'default'];
      return spiffeId(TRUST_DOMAIN, 'ns', ns, 'pod', base);
    }
    case 'emulator':
      // Emulated hardware speaks no gRPC; an ID for completeness (it is never issued).
      return spiffeId(TRUST_DOMAIN, 'emulator', node ?? name);
  }
}

/** The environment that gives a component its identity, or insecure mode. */
export function identityEnv(lab: Lab, name: string, secure: boolean): Record<string, string> {
  return secure ? { NSM_IDENTITY_DIR: lab.identityDir(name) } : { NSM_INSECURE: 'true' };
}

/** When an identity in `dir` must be issued again: missing, unreadable, of another ID, or past 2/3 of its life. */
function renewAt(dir: string, id: string): number {
  try {
    const [leaf] = parsePemCertificates(readFileSync(join(dir, IDENTITY_FILES.svid), 'utf8'), dir);
    if (!leaf || spiffeIdOfCertificate(leaf).id !== id) return 0;
    const { notBefore, notAfter } = validity(leaf);
    // Two thirds into the life it was issued for: its NotBefore lies BACKDATE_MS before the issue.
    const issued = Math.min(notBefore + BACKDATE_MS, notAfter);
    return issued + ((notAfter - issued) * 2) / 3;
  } catch {
    return 0;
  }
}

/**
 * Issues and renews the identities of the supervisor's components. Usage (the supervisor):
 * `const issuer = new LabIssuer(lab, { lifetimeMs, log }); await issuer.ensure(spec); setInterval(() => issuer.renewDue(), 1000)`.
 */
export class LabIssuer {
  private readonly held = new Map<string, { id: string; dir: string; due: number }>();
  private ca: MeshCa | undefined;

  constructor(
    private readonly lab: Lab,
    private readonly options: { lifetimeMs: number; log: Logger },
  ) {}

  private authority(): MeshCa {
    this.ca ??= readCa(this.lab.pkiDir);
    return this.ca;
  }

  /** Makes sure `spec`'s identity files exist and are fresh (a no-op for components without one). */
  async ensure(spec: ComponentSpec): Promise<void> {
    if (!spec.identity) return;
    const dir = this.lab.identityDir(spec.name);
    const due = renewAt(dir, spec.identity);
    this.held.set(spec.name, { id: spec.identity, dir, due });
    if (due > Date.now()) return;
    await this.issue(spec.name);
  }

  /** Forgets a removed component. */
  forget(name: string): void {
    this.held.delete(name);
  }

  /** Issues again every identity past two thirds of its lifetime. */
  async renewDue(): Promise<void> {
    const now = Date.now();
    for (const [name, held] of this.held) if (held.due <= now) await this.issue(name);
  }

  private async issue(name: string): Promise<void> {
    const held = this.held.get(name);
    if (!held) return;
    const ca = this.authority();
    try {
      const svid = await issueSvid(ca, { id: held.id, lifetimeMs: this.options.lifetimeMs });
      writeIdentity(held.dir, svid, ca.certPem);
      held.due = renewAt(held.dir, held.id);
      this.options.log.info(
        { component: name, id: held.id, notAfter: new Date(svid.notAfter).toISOString() },
        'identity issued',
      );
    } catch (err) {
      held.due = Date.now() + 5000;
      this.options.log.error(
        { component: name, err: String(err) },
        'issuing an identity failed; retrying in 5 s',
      );
    }
  }
}

const OPERATOR_LIFETIME_MS = 3_600_000;

/**
 * The operator identity of each lab, by the lab's creation time: a lab brought down and up again
 * has a new CA, and a long-running command (`nsm ui`) must not keep the old one, nor one that
 * expires. Renewed at two thirds of its lifetime.
 */
const operators = new Map<
  string,
  { createdAt: string | undefined; renewAt: number; security: Promise<Security> }
>();

/** The `nsm` command's security in `lab`: a short-lived operator identity, or none in an insecure lab. */
export function operatorSecurity(lab: Lab): Promise<Security> {
  const state = lab.readState();
  const known = operators.get(lab.name);
  if (known && known.createdAt === state?.createdAt && Date.now() < known.renewAt) return known.security;
  const security = (async () => {
    const secure = state?.secure ?? existsSync(lab.pkiDir);
    if (!secure) return securityOf(undefined, { name: 'nsm' });
    const ca = readCa(lab.pkiDir);
    const svid = await issueSvid(ca, {
      id: spiffeId(TRUST_DOMAIN, 'operator', 'nsm'),
      lifetimeMs: OPERATOR_LIFETIME_MS,
    });
    const identity = staticIdentity(svidFromPem(svid.chainPem, svid.keyPem, 'operator'), ca.certPem);
    return securityOf(identity, { name: 'nsm' });
  })();
  operators.set(lab.name, {
    createdAt: state?.createdAt,
    renewAt: Date.now() + (OPERATOR_LIFETIME_MS * 2) / 3,
    security,
  });
  // `nsm up` writes the state before it creates the CA: a failure is not kept, the next call tries again.
  security.catch(() => {
    if (operators.get(lab.name)?.security === security) operators.delete(lab.name);
  });
  // Calls still under way may use the old one for a moment; close it afterwards.
  if (known)
    setTimeout(
      () =>
        void known.security.then(
          (s) => s.close(),
          () => undefined,
        ),
      10_000,
    ).unref();
  return security;
}

/** A gRPC client for a hop of the lab, as its operator. Usage: `const registry = await labDial(lab, lab.socket('registry'))`. */
export async function labDial(lab: Lab, url: string, options: DialOptions = {}): Promise<MeshClient> {
  const security = await operatorSecurity(lab);
  return dial(url, {
    tokens: security.tokens,
    ...(security.identity ? { identity: security.identity } : {}),
    ...options,
  });
}

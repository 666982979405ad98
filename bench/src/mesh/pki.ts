/**
 * Identities for meshes built in one process (benchmarks, suites): a mesh CA in memory and X.509-SVIDs
 * issued from it, the same certificates `nsm up` writes to files for the lab.
 */
import { createCa, issueSvid, type MeshCa } from '@nsm-ts/cli/pki';
import { spiffeId, staticIdentity, svidFromPem, type Identity } from '@nsm-ts/sdk/security';

/** A CA and the identities issued from it. */
export class MeshPki {
  private constructor(readonly ca: MeshCa) {}

  /** A new CA for `trustDomain` (default `nsm.test`). */
  static async create(trustDomain = 'nsm.test'): Promise<MeshPki> {
    return new MeshPki(await createCa({ trustDomain }));
  }

  get trustDomain(): string {
    return this.ca.trustDomain;
  }

  /** `spiffe://<trust domain>/<segments>`. */
  id(...segments: string[]): string {
    return spiffeId(this.ca.trustDomain, ...segments);
  }

  /**
   * An identity for the SPIFFE ID made of `segments` (e.g. `'nsmgr', 'node-1'`), valid `lifetimeMs` from
   * `issuedAt` (default now).
   */
  async identity(segments: string[], lifetimeMs = 3_600_000, issuedAt?: number): Promise<Identity> {
    const svid = await issueSvid(this.ca, {
      id: this.id(...segments),
      lifetimeMs,
      ...(issuedAt === undefined ? {} : { now: issuedAt }),
    });
    return staticIdentity(svidFromPem(svid.chainPem, svid.keyPem, svid.id), this.ca.certPem);
  }
}

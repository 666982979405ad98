/** `nsm identity`: an X.509-SVID from a running lab's CA, written as files, for a workload the lab did not start. */
import { resolve } from 'node:path';
import { parseSpiffeId, spiffeIdProblem } from '@nsm-ts/sdk/security';
import { issueSvid } from '../pki/ca.js';
import { readCa, writeIdentity } from '../pki/files.js';
import { LabPreconditionError } from './system.js';
import { TRUST_DOMAIN } from './identities.js';
import type { Lab } from './lab.js';

/** Kinds the lab's own components hold: a workload may not be issued one of them. */
const RESERVED = ['registry', 'nsmgr', 'forwarder', 'operator'];

/** The SPIFFE ID meant by `text`: a full `spiffe://` ID of the lab's trust domain, or its path. */
export function workloadId(text: string): string {
  const id = text.startsWith('spiffe://') ? text : `spiffe://${TRUST_DOMAIN}/${text.replace(/^\/+/, '')}`;
  const problem = spiffeIdProblem(id);
  if (problem) throw new LabPreconditionError(`nsm identity ${text}: ${problem}`);
  const parsed = parseSpiffeId(id);
  if (parsed.trustDomain !== TRUST_DOMAIN)
    throw new LabPreconditionError(
      `nsm identity ${text}: the lab's trust domain is ${TRUST_DOMAIN}, not ${parsed.trustDomain}`,
    );
  const kind = parsed.path.split('/')[1] ?? '';
  if (parsed.path === '' || RESERVED.includes(kind))
    throw new LabPreconditionError(
      `nsm identity ${text}: ${parsed.path === '' ? 'a workload ID needs a path' : `"${kind}" identities are the lab's own components'`}; ` +
        'expected a workload ID such as ns/default/pod/my-nsc',
    );
  return id;
}

/** Issues `id` valid `lifetimeMs` into `dir`. */
export async function issueIdentity(
  lab: Lab,
  text: string,
  dir: string,
  lifetimeMs: number,
): Promise<{ id: string; dir: string; notAfter: number }> {
  const id = workloadId(text);
  if (lab.readState()?.secure === false)
    throw new LabPreconditionError(
      `lab "${lab.name}" runs --insecure: it has no CA, and its workloads need no identity`,
    );
  const ca = readCa(lab.pkiDir);
  const svid = await issueSvid(ca, { id, lifetimeMs });
  const where = resolve(dir);
  writeIdentity(where, svid, ca.certPem);
  return { id, dir: where, notAfter: svid.notAfter };
}

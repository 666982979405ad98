/**
 * `nsm identity --kubeconfig`: an X.509-SVID from a cluster's mesh CA (the issuer's Secret), for an
 * operator (`operator/<name>`, which sees every connection in `nsm status --kubeconfig`) or a workload
 * outside the cluster. Whoever may read that Secret holds the mesh's root of trust anyway.
 */
import { resolve } from 'node:path';
import { ApiException, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ISSUER_ID_PATH, parseSpiffeId, spiffeIdProblem } from '@nsm-ts/sdk/security';
import { caFromSecret } from '../issuer/ca-secret.js';
import { issueSvid } from '../pki/ca.js';
import { writeIdentity } from '../pki/files.js';

/** Issues `text` (a SPIFFE ID of the CA's trust domain, or its path) into `dir` from Secret `secret` (`namespace/name`). */
export async function issueFromCluster(
  kubeConfig: KubeConfig,
  options: { secret: string; text: string; dir: string; lifetimeMs: number },
): Promise<{ id: string; dir: string; notAfter: number }> {
  const [namespace, name, ...rest] = options.secret.split('/');
  if (!namespace || !name || rest.length > 0)
    throw new Error(`--ca-secret ${options.secret}: expected <namespace>/<name>, such as nsm-system/nsm-ca`);
  let secret;
  try {
    secret = await kubeConfig.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace });
  } catch (err) {
    const said =
      err instanceof ApiException ? `the Kubernetes API answered ${err.code}` : (err as Error).message;
    throw new Error(
      `cannot read the mesh CA Secret ${options.secret}: ${said}` +
        (err instanceof ApiException && err.code === 404
          ? ' (is the issuer deployed? it creates the Secret)'
          : ''),
      { cause: err },
    );
  }
  const ca = caFromSecret(secret, options.secret);
  const id = options.text.startsWith('spiffe://')
    ? options.text
    : `spiffe://${ca.trustDomain}/${options.text.replace(/^\/+/, '')}`;
  const problem = spiffeIdProblem(id);
  if (problem) throw new Error(`nsm identity ${options.text}: ${problem}`);
  const parsed = parseSpiffeId(id);
  if (parsed.trustDomain !== ca.trustDomain)
    throw new Error(
      `nsm identity ${options.text}: the cluster's trust domain is ${ca.trustDomain}, not ${parsed.trustDomain}`,
    );
  if (parsed.path === '' || parsed.path === ISSUER_ID_PATH)
    throw new Error(
      `nsm identity ${options.text}: ${parsed.path === '' ? 'an identity needs a path' : "that is the issuer's own identity"}; ` +
        'expected operator/<name> or ns/<namespace>/sa/<name>',
    );
  const svid = await issueSvid(ca, { id, lifetimeMs: options.lifetimeMs });
  const dir = resolve(options.dir);
  writeIdentity(dir, svid, ca.certPem);
  return { id, dir, notAfter: svid.notAfter };
}

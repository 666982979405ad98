/**
 * The mesh CA in a Kubernetes Secret of type kubernetes.io/tls (`tls.crt`, `tls.key`, and `ca.crt`, the
 * trust bundle): read when it exists, created once when it does not. Replicas starting together race
 * on the create; the losers (409) read the winner's. A CA of the operator's own (from `nsm up`, or
 * cert-manager) works the same: create the Secret before the issuer starts.
 */
import { ApiException, CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from '@nsm-ts/sdk/core';
import { caFromPem, createCa, type MeshCa } from '../pki/ca.js';

/** Why the API refused, with what the issuer needs. */
export function apiProblem(err: unknown, what: string, needs: string): Error {
  if (!(err instanceof ApiException)) return new Error(`${what}: ${(err as Error).message}`, { cause: err });
  const body = err.body as { message?: string } | string | undefined;
  const said =
    body && typeof body === 'object'
      ? (body.message ?? JSON.stringify(body))
      : typeof body === 'string'
        ? body
        : '';
  const hint = err.code === 401 || err.code === 403 ? `; the issuer's service account needs ${needs}` : '';
  return new Error(`${what}: the Kubernetes API answered ${err.code} ${said}${hint}`, { cause: err });
}

const decode = (secret: V1Secret, key: string): string | undefined => {
  const value = secret.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
};

/** The CA in `secret`; an Error names the Secret, the key and the problem. */
export function caFromSecret(secret: V1Secret, where: string): MeshCa {
  const cert = decode(secret, 'tls.crt');
  const key = decode(secret, 'tls.key');
  const missing = [cert === undefined && 'tls.crt', key === undefined && 'tls.key'].filter(Boolean);
  if (missing.length > 0)
    throw new Error(
      `Secret ${where} has no ${missing.join(' and ')}: expected a kubernetes.io/tls Secret with the CA's certificate (tls.crt) and key (tls.key)`,
    );
  return caFromPem(cert!, key!, `the mesh CA in Secret ${where}`);
}

/**
 * The CA in Secret `namespace/name`, created for `trustDomain` if there is none. Throws when the Secret
 * is unusable or for another trust domain, or when the API refuses (naming the permissions needed).
 * Usage: `const ca = await loadOrCreateCa(kubeConfig, { namespace, name: 'nsm-ca', trustDomain, log })`.
 */
export async function loadOrCreateCa(
  kubeConfig: KubeConfig,
  options: { namespace: string; name: string; trustDomain: string; log: Logger },
): Promise<MeshCa> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const { namespace, name, log } = options;
  const where = `${namespace}/${name}`;
  const needs = `get and create on secrets (${name}) in namespace ${namespace}`;
  for (let attempt = 1; attempt <= 3; attempt++) {
    let secret: V1Secret | undefined;
    try {
      secret = await core.readNamespacedSecret({ name, namespace });
    } catch (err) {
      if (!(err instanceof ApiException) || err.code !== 404)
        throw apiProblem(err, `cannot read the CA Secret ${where}`, needs);
    }
    if (secret) {
      const ca = caFromSecret(secret, where);
      if (ca.trustDomain !== options.trustDomain)
        throw new Error(
          `the CA in Secret ${where} is for trust domain ${ca.trustDomain}, not ${options.trustDomain}: ` +
            `set NSM_TRUST_DOMAIN=${ca.trustDomain}, or delete the Secret to make a new CA`,
        );
      log.info(
        { secret: where, trustDomain: ca.trustDomain, notAfter: ca.certificate.validTo },
        'mesh CA loaded',
      );
      return ca;
    }
    const ca = await createCa({ trustDomain: options.trustDomain });
    const data = (text: string): string => Buffer.from(text).toString('base64');
    try {
      await core.createNamespacedSecret({
        namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/tls',
          metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'nsm-ts' } },
          data: { 'tls.crt': data(ca.certPem), 'tls.key': data(ca.keyPem), 'ca.crt': data(ca.certPem) },
        },
      });
      log.info({ secret: where, trustDomain: ca.trustDomain }, 'mesh CA created');
      return ca;
    } catch (err) {
      // Another replica created it first: read theirs.
      if (!(err instanceof ApiException) || err.code !== 409)
        throw apiProblem(err, `cannot create the CA Secret ${where}`, needs);
    }
  }
  throw new Error(`the CA Secret ${where} keeps appearing and disappearing: is another process deleting it?`);
}

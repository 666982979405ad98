/**
 * Who a projected service-account token belongs to, as the API server says through a TokenReview
 * (authentication.k8s.io/v1) for the issuer's audience: the namespace and service account, and the pod
 * when the token is bound to one.
 */
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { apiProblem } from './ca-secret.js';

/** A workload whose token the API server vouched for. */
export interface Reviewed {
  namespace: string;
  serviceAccount: string;
  pod: string | undefined;
}

/** A refusal with the HTTP status the issuer answers (401: the token; 503: the API). */
export class ReviewError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const SERVICE_ACCOUNT =
  /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

/** A reviewer for `audience`. Usage: `const who = await tokenReviewer(kc, 'nsm-issuer')(token)`. */
export function tokenReviewer(
  kubeConfig: KubeConfig,
  audience: string,
): (token: string) => Promise<Reviewed> {
  const api = kubeConfig.makeApiClient(AuthenticationV1Api);
  return async (token) => {
    let status;
    try {
      status = (
        await api.createTokenReview({
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            spec: { token, audiences: [audience] },
          },
        })
      ).status;
    } catch (err) {
      throw new ReviewError(
        503,
        apiProblem(err, 'cannot review the token', 'create on tokenreviews').message,
      );
    }
    if (!status?.authenticated)
      throw new ReviewError(
        401,
        `the service-account token is not valid: ${status?.error || 'the API server did not authenticate it'}`,
      );
    if (status.audiences && !status.audiences.includes(audience))
      throw new ReviewError(401, `the service-account token is not for audience ${audience}`);
    const username = status.user?.username ?? '';
    const match = SERVICE_ACCOUNT.exec(username);
    if (!match)
      throw new ReviewError(
        401,
        `the token belongs to "${username}": expected a service account (system:serviceaccount:<namespace>:<name>)`,
      );
    return {
      namespace: match[1]!,
      serviceAccount: match[3]!,
      pod: status.user?.extra?.['authentication.kubernetes.io/pod-name']?.[0],
    };
  };
}

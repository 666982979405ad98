/**
 * Service-account tokens and the TokenReview API (authentication.k8s.io/v1) of the Kubernetes API test
 * server, as the API server answers them: a token it issued for some audiences authenticates as
 * `system:serviceaccount:<namespace>:<name>` for a review that asks for one of those audiences (or none);
 * an unknown, revoked or expired token, or one for other audiences, is `authenticated: false` with an
 * error saying why. The review itself is answered 201, whatever the verdict.
 */
import { randomBytes } from 'node:crypto';
import { ApiError } from './objects.js';

/** The path of TokenReview creates. */
export const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

interface Issued {
  namespace: string;
  name: string;
  audiences: string[];
  expires: number;
  pod: string | undefined;
  uid: string;
}

/** The tokens the server has issued (what the kubelet would mount as projected tokens). */
export class ServiceAccountTokens {
  private readonly issued = new Map<string, Issued>();
  /** The reviews answered, oldest first. */
  readonly reviews: { audiences: string[]; authenticated: boolean }[] = [];

  /**
   * A token for service account `namespace/name`, valid for `audiences` (default: the API server's own,
   * `https://kubernetes.default.svc`) during `ttlMs` (default one hour), bound to `pod` if given.
   */
  issue(
    namespace: string,
    name: string,
    options: { audiences?: string[]; ttlMs?: number; pod?: string } = {},
  ): string {
    const token = `sa.${randomBytes(24).toString('base64url')}`;
    this.issued.set(token, {
      namespace,
      name,
      audiences: options.audiences ?? ['https://kubernetes.default.svc'],
      expires: Date.now() + (options.ttlMs ?? 3_600_000),
      pod: options.pod,
      uid: randomBytes(8).toString('hex'),
    });
    return token;
  }

  /** Invalidates a token (its pod was deleted, say). */
  revoke(token: string): void {
    this.issued.delete(token);
  }

  /** Answers a TokenReview create body. */
  review(body: unknown): Record<string, unknown> {
    const review = body as {
      apiVersion?: string;
      kind?: string;
      spec?: { token?: unknown; audiences?: unknown };
    };
    if (review?.kind !== 'TokenReview' || review.apiVersion !== 'authentication.k8s.io/v1')
      throw new ApiError(
        400,
        'BadRequest',
        `the body must be an authentication.k8s.io/v1 TokenReview, not ${review?.apiVersion ?? '?'} ${review?.kind ?? '?'}`,
      );
    const token = review.spec?.token;
    if (typeof token !== 'string' || token === '')
      throw new ApiError(
        422,
        'Invalid',
        'TokenReview.authentication.k8s.io "" is invalid: spec.token: Required value',
      );
    const wanted = Array.isArray(review.spec?.audiences) ? (review.spec.audiences as string[]) : [];
    const answer = (status: Record<string, unknown>): Record<string, unknown> => {
      this.reviews.push({ audiences: wanted, authenticated: status['authenticated'] === true });
      return {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        metadata: {},
        spec: review.spec,
        status,
      };
    };
    const found = this.issued.get(token);
    if (!found) return answer({ authenticated: false, error: 'invalid bearer token', user: {} });
    if (Date.now() > found.expires)
      return answer({ authenticated: false, error: 'invalid bearer token, Token has expired.', user: {} });
    const audiences =
      wanted.length === 0 ? found.audiences : wanted.filter((a) => found.audiences.includes(a));
    if (audiences.length === 0)
      return answer({
        authenticated: false,
        error: `invalid bearer token, token audiences ${JSON.stringify(found.audiences)} is invalid for the target audiences ${JSON.stringify(wanted)}`,
        user: {},
      });
    return answer({
      authenticated: true,
      audiences,
      user: {
        username: `system:serviceaccount:${found.namespace}:${found.name}`,
        uid: found.uid,
        groups: [
          'system:serviceaccounts',
          `system:serviceaccounts:${found.namespace}`,
          'system:authenticated',
        ],
        ...(found.pod ? { extra: { 'authentication.kubernetes.io/pod-name': [found.pod] } } : {}),
      },
    });
  }
}

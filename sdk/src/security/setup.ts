/**
 * A process's security from its configuration: where its identity comes from (identity files, the
 * SPIFFE Workload API, or none in insecure mode), the tokens it signs, and the policies its servers
 * enforce. The daemons and `nsm` roles read it from the environment (`readSecurityEnv`).
 */
import { workloadApiIdentity } from '../grpc/workload-api.js';
import type { AuthorizeOptions } from '../networkservice/common/authorize/authorize.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { EnvReader } from '../tools/env/env.js';
import { fileIdentity } from './files.js';
import { issuerIdentity } from './issuer.js';
import type { Identity } from './identity.js';
import { parseSpiffeId } from './spiffe.js';
import { identityTokenGenerator, jwtTokenGenerator, type TokenGenerator } from './tokens.js';
import { TokenVerifier } from './verify.js';

/** Where the identity comes from and what is enforced. */
export interface SecurityConfig {
  /** A directory with svid.pem, svid_key.pem and svid_bundle.pem (NSM_IDENTITY_DIR). */
  identityDir: string;
  /** The SPIFFE Workload API (SPIFFE_ENDPOINT_SOCKET), used when no identity directory is given. */
  workloadApi: string;
  /** The mesh's issuer in Kubernetes (NSM_ISSUER_URL), used when neither of the above is given. */
  issuer: { url: string; tokenFile: string; caFile: string };
  /** No mTLS, no token verification (NSM_INSECURE): for debugging only. */
  insecure: boolean;
  /** Enforce the policies on served calls (NSM_AUTHORIZE, default true). */
  authorize: boolean;
}

/** Where the injected pod volumes put the issuer's token and the mesh CA. */
export const ISSUER_DEFAULTS = {
  tokenFile: '/var/run/secrets/nsm-issuer/token',
  caFile: '/var/run/nsm-trust/bundle.pem',
} as const;

/** The variables `readSecurityEnv` reads, for a daemon's usage text. */
export const SECURITY_USAGE = `  NSM_IDENTITY_DIR                     directory with this process's X.509-SVID: svid.pem (certificate
                                       chain), svid_key.pem (key), svid_bundle.pem (trust bundle); see
                                       \`nsm identity\`
  SPIFFE_ENDPOINT_SOCKET               SPIFFE Workload API (a SPIRE agent), used without NSM_IDENTITY_DIR:
                                       unix:///path.sock or tcp://ip:port
  NSM_ISSUER_URL                       the mesh's issuer in Kubernetes (https://nsm-issuer.nsm-system.svc),
                                       used without the two above: it certifies the pod's service account
  NSM_ISSUER_TOKEN_FILE                projected service-account token for it (audience nsm-issuer)
                                       (default ${ISSUER_DEFAULTS.tokenFile})
  NSM_ISSUER_CA_FILE                   the mesh CA that the issuer's certificate chains to
                                       (default ${ISSUER_DEFAULTS.caFile})
  NSM_AUTHORIZE                        enforce the token policies on served calls (default true)
  NSM_INSECURE                         true: no mTLS and no token verification, for debugging only
`;

/** Reads the security variables; a missing identity is an error unless NSM_INSECURE is set. */
export function readSecurityEnv(r: EnvReader): SecurityConfig {
  const config: SecurityConfig = {
    identityDir: r.string('NSM_IDENTITY_DIR', ''),
    workloadApi: r.string('SPIFFE_ENDPOINT_SOCKET', ''),
    issuer: {
      url: r.string('NSM_ISSUER_URL', ''),
      tokenFile: r.string('NSM_ISSUER_TOKEN_FILE', ISSUER_DEFAULTS.tokenFile),
      caFile: r.string('NSM_ISSUER_CA_FILE', ISSUER_DEFAULTS.caFile),
    },
    insecure: r.boolean('NSM_INSECURE', false),
    authorize: r.boolean('NSM_AUTHORIZE', true),
  };
  if (!config.insecure && !config.identityDir && !config.workloadApi && !config.issuer.url) {
    r.errors.push(
      'no identity for mTLS: set NSM_IDENTITY_DIR (svid.pem, svid_key.pem, svid_bundle.pem; `nsm identity` makes one), ' +
        'SPIFFE_ENDPOINT_SOCKET (a SPIRE agent) or NSM_ISSUER_URL (the mesh issuer in Kubernetes), ' +
        'or NSM_INSECURE=true to run without mTLS and authorization',
    );
  }
  return config;
}

/** A process's security, ready to hand to its servers, pools and chains. */
export interface Security {
  /** Undefined in insecure mode. */
  readonly identity: Identity | undefined;
  /** Signs this process's segments and calls. */
  readonly tokens: TokenGenerator;
  /** The policies its server chains enforce; undefined when off. */
  readonly authorization: AuthorizeOptions | undefined;
  /** Whether `id` is an operator's (`spiffe://<trust domain>/operator/...`): it sees every connection. */
  operator(id: string): boolean;
  close(): void;
}

/** Operators' SPIFFE IDs: `spiffe://<trust domain>/operator/<name>` (the `nsm` command's). */
export function isOperatorId(id: string, trustDomain: string): boolean {
  try {
    const parsed = parseSpiffeId(id);
    return parsed.trustDomain === trustDomain && parsed.path.startsWith('/operator/');
  } catch {
    return false;
  }
}

/** Security around a given identity (or none); what `setupSecurity` builds, for in-process meshes too. */
export function securityOf(
  identity: Identity | undefined,
  options: { name: string; tokenLifetimeMs?: number; authorize?: boolean },
): Security {
  const lifetime = options.tokenLifetimeMs !== undefined ? { lifetimeMs: options.tokenLifetimeMs } : {};
  if (!identity) {
    return {
      identity: undefined,
      tokens: jwtTokenGenerator({ name: options.name, ...lifetime }),
      authorization: undefined,
      operator: () => false,
      close: () => undefined,
    };
  }
  const verifier = new TokenVerifier(() => identity.bundle());
  return {
    identity,
    tokens: identityTokenGenerator({ identity, ...lifetime }),
    authorization: options.authorize === false ? undefined : { verifier },
    operator: (id) => isOperatorId(id, identity.trustDomain),
    close: () => identity.close(),
  };
}

/**
 * Loads the identity `config` names and builds the process's security; warns loudly when mTLS or the
 * policies are off. Usage: `const security = await setupSecurity(config.security, { name, log })`.
 */
export async function setupSecurity(
  config: SecurityConfig,
  options: { name: string; tokenLifetimeMs?: number; log?: Logger },
): Promise<Security> {
  const log = options.log ?? silentLogger;
  if (config.insecure) {
    log.warn(
      'NSM_INSECURE is set: no mTLS and no token verification; any process that reaches this one can register, ' +
        'request and close anything. For debugging only',
    );
    return securityOf(undefined, options);
  }
  const identity = config.identityDir
    ? await fileIdentity({ dir: config.identityDir, log })
    : config.workloadApi
      ? await workloadApiIdentity({ address: config.workloadApi, log })
      : await issuerIdentity({ ...config.issuer, log });
  if (!config.authorize)
    log.warn(
      'NSM_AUTHORIZE=false: the token policies are off; callers with a certificate of the trust domain may request, ' +
        'refresh and close any connection. For debugging only',
    );
  log.info(
    { id: identity.id, source: config.identityDir || config.workloadApi || config.issuer.url },
    'identity loaded',
  );
  return securityOf(identity, { ...options, authorize: config.authorize });
}

/**
 * A daemon's security: `given` (a caller's, e.g. a test's or an in-process mesh's), or one set up
 * from the daemon's configuration. `release` closes only what was set up here.
 * Usage: `const { security, release } = await daemonSecurity(config, deps)`.
 */
export async function daemonSecurity(
  config: { name: string; security: SecurityConfig; maxTokenLifetimeMs: number },
  deps: { log: Logger; security?: Security | undefined },
): Promise<{ security: Security; release: () => void }> {
  if (deps.security) return { security: deps.security, release: () => undefined };
  const security = await setupSecurity(config.security, {
    name: config.name,
    tokenLifetimeMs: config.maxTokenLifetimeMs,
    log: deps.log,
  });
  return { security, release: () => security.close() };
}

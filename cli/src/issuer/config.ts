/** The issuer's configuration from the environment. */
import { EnvReader, podNamespace } from '@nsm-ts/sdk/tools';
import { ISSUER_AUDIENCE, spiffeIdProblem } from '@nsm-ts/sdk/security';

/** The issuer's settings. */
export interface IssuerConfig {
  /** `NSM_TRUST_DOMAIN`: the mesh's SPIFFE trust domain. */
  trustDomain: string;
  /** `NSM_NAMESPACE`: where the CA Secret lives (the issuer's own namespace). */
  namespace: string;
  /** `NSM_CA_SECRET`: the Secret holding the mesh CA (created when missing). */
  caSecret: string;
  /** `NSM_BUNDLE_CONFIGMAP`: the ConfigMap with the trust bundle, kept in every namespace ('' for none). */
  bundleConfigMap: string;
  /** `NSM_SERVICE_NAME`: the Service in front of it (its DNS names go into the serving certificate). */
  serviceName: string;
  /** `NSM_PORT`: the HTTPS port. */
  port: number;
  /** `NSM_CERT_LIFETIME`: how long issued certificates are valid. */
  lifetimeMs: number;
  /** `NSM_ALLOWED_NAMESPACES`: namespaces whose service accounts get identities (empty: all). */
  allowedNamespaces: string[];
  /** `NSM_LOG_LEVEL`. */
  logLevel: string;
}

export const ISSUER_USAGE = `Usage: nsm-issuer   (configured by environment variables)

Keeps the mesh CA in a Kubernetes Secret (creating it on first start; replicas share it), publishes
the trust bundle as a ConfigMap in every namespace, and issues X.509-SVIDs
spiffe://<trust domain>/ns/<namespace>/sa/<service account> to pods that prove their service account
with a projected token of audience ${ISSUER_AUDIENCE} (checked by a TokenReview).

  NSM_TRUST_DOMAIN        SPIFFE trust domain of a new CA                 (default nsm.local)
  NSM_NAMESPACE           namespace of the CA Secret      (default: the pod's namespace, else nsm-system)
  NSM_CA_SECRET           the Secret holding the CA                        (default nsm-ca)
  NSM_BUNDLE_CONFIGMAP    ConfigMap with the trust bundle (key bundle.pem), kept in every namespace
                          (default nsm-trust-bundle; "none" publishes nothing)
  NSM_SERVICE_NAME        the Service in front of it                       (default nsm-issuer)
  NSM_PORT                HTTPS port                                       (default 8443)
  NSM_CERT_LIFETIME       lifetime of issued certificates                  (default 1h)
  NSM_ALLOWED_NAMESPACES  comma-separated namespaces to serve (default: all)
  NSM_LOG_LEVEL           trace, debug, info, warn, error, fatal or silent (default info)
`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Reads the configuration; `problems` lists every bad setting (empty when it is usable). */
export function parseIssuerConfig(env: NodeJS.ProcessEnv): { config: IssuerConfig; problems: string[] } {
  const r = new EnvReader(env);
  const config: IssuerConfig = {
    trustDomain: r.string('NSM_TRUST_DOMAIN', 'nsm.local'),
    namespace: r.string('NSM_NAMESPACE', podNamespace() ?? 'nsm-system'),
    caSecret: r.string('NSM_CA_SECRET', 'nsm-ca'),
    bundleConfigMap: r.string('NSM_BUNDLE_CONFIGMAP', 'nsm-trust-bundle').replace(/^none$/, ''),
    serviceName: r.string('NSM_SERVICE_NAME', 'nsm-issuer'),
    port: r.integer('NSM_PORT', 8443, 1, 65535),
    lifetimeMs: r.duration('NSM_CERT_LIFETIME', '1h'),
    allowedNamespaces: r
      .string('NSM_ALLOWED_NAMESPACES', '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
    logLevel: r.string('NSM_LOG_LEVEL', 'info'),
  };
  const tdProblem = spiffeIdProblem(`spiffe://${config.trustDomain}`);
  if (tdProblem) r.errors.push(`NSM_TRUST_DOMAIN="${config.trustDomain}": ${tdProblem}`);
  for (const [name, value] of [
    ['NSM_CA_SECRET', config.caSecret],
    ['NSM_SERVICE_NAME', config.serviceName],
    ['NSM_BUNDLE_CONFIGMAP', config.bundleConfigMap],
    ...config.allowedNamespaces.map((n) => ['NSM_ALLOWED_NAMESPACES', n]),
  ] as const) {
    if (value !== '' && !DNS_LABEL.test(value))
      r.errors.push(
        `${name}: "${value}" is not a Kubernetes name: expected lower-case letters, digits and "-"`,
      );
  }
  if (config.lifetimeMs < 60_000)
    r.errors.push(`NSM_CERT_LIFETIME=${config.lifetimeMs}ms is too short: expected at least 1m`);
  return { config, problems: r.errors };
}

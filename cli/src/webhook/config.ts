/** The admission webhook's configuration from the environment (upstream's cmd-admission-webhook names). */
import { EnvReader, parseLabels, podNamespace } from '@nsm-ts/sdk/tools';
import { CLIENT_ANNOTATION } from '../manifests/client-url.js';

/** The webhook's settings. */
export interface WebhookConfig {
  /** `NSM_NAME`: the MutatingWebhookConfiguration it registers (self-signed mode). */
  name: string;
  /** `NSM_SERVICE_NAME` and `NSM_NAMESPACE`: the Service in front of it. */
  serviceName: string;
  namespace: string;
  /** `NSM_PORT`: the HTTPS port. */
  port: number;
  /** `NSM_ANNOTATION`. */
  annotation: string;
  /** `NSM_CONTAINER_IMAGE`: the image of the injected client containers. */
  image: string;
  /** `NSM_ENVS`: extra environment of the injected containers (`K=V,K2=V2`). */
  env: Record<string, string>;
  /** `NSM_SPIRE_SOCKET_DIR`: the host directory of the SPIRE agent socket to mount ('' for none). */
  spireSocketDir: string;
  /** `NSM_ISSUER_URL`: the mesh issuer the injected clients get their identity from ('' for none). */
  issuerUrl: string;
  /** `NSM_BUNDLE_CONFIGMAP`: the trust bundle ConfigMap the issuer keeps in every namespace. */
  bundleConfigMap: string;
  /** `NSM_LABELS`: labels merged into the pods it injects (`k:v,k2:v2`). */
  labels: Record<string, string>;
  /** `NSM_CERT_FILE_PATH`, `NSM_KEY_FILE_PATH`: the serving certificate; both empty: self-signed and self-registered. */
  certFile: string;
  keyFile: string;
  /** `NSM_LOG_LEVEL`. */
  logLevel: string;
}

export const WEBHOOK_USAGE = `Usage: nsm-webhook   (configured by environment variables)

  NSM_NAME               name of its MutatingWebhookConfiguration        (default nsm-webhook)
  NSM_SERVICE_NAME       the Service in front of it                       (default nsm-webhook-svc)
  NSM_NAMESPACE          its namespace                    (default: the pod's namespace, else nsm-system)
  NSM_PORT               HTTPS port                                       (default 8443)
  NSM_ANNOTATION         the annotation that asks for the client          (default ${CLIENT_ANNOTATION})
  NSM_CONTAINER_IMAGE    image of the injected client containers (required)
  NSM_ENVS               extra environment of those containers: K=V,K2=V2
  NSM_LABELS             labels added to the pods it injects: k:v,k2:v2
  NSM_SPIRE_SOCKET_DIR   host directory of the SPIRE agent's agent.sock, mounted for the clients'
                         identity (default /run/spire/sockets; "none" mounts nothing)
  NSM_ISSUER_URL         the mesh issuer (nsm-issuer) for the clients' identity instead: they get a
                         projected service-account token for it and the trust bundle ConfigMap
  NSM_BUNDLE_CONFIGMAP   that ConfigMap's name                            (default nsm-trust-bundle)
  NSM_CERT_FILE_PATH     serving certificate and key (PEM); when both are unset the webhook makes a
  NSM_KEY_FILE_PATH      self-signed certificate and registers its MutatingWebhookConfiguration itself
  NSM_LOG_LEVEL          trace, debug, info, warn, error, fatal or silent (default info)
`;

/** Reads the configuration; `problems` lists every bad setting (empty when it is usable). */
export function parseWebhookConfig(env: NodeJS.ProcessEnv): { config: WebhookConfig; problems: string[] } {
  const r = new EnvReader(env);
  const envs: Record<string, string> = {};
  for (const pair of r
    .string('NSM_ENVS', '')
    .split(',')
    .filter((p) => p.trim() !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) r.errors.push(`NSM_ENVS: "${pair}" is not K=V; expected K=V,K2=V2`);
    else envs[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  const config: WebhookConfig = {
    name: r.string('NSM_NAME', 'nsm-webhook'),
    serviceName: r.string('NSM_SERVICE_NAME', 'nsm-webhook-svc'),
    namespace: r.string('NSM_NAMESPACE', podNamespace() ?? 'nsm-system'),
    port: r.integer('NSM_PORT', 8443, 1, 65535),
    annotation: r.string('NSM_ANNOTATION', CLIENT_ANNOTATION),
    image: r.string('NSM_CONTAINER_IMAGE', ''),
    env: envs,
    spireSocketDir: r.string('NSM_SPIRE_SOCKET_DIR', '/run/spire/sockets').replace(/^none$/, ''),
    issuerUrl: r.string('NSM_ISSUER_URL', ''),
    bundleConfigMap: r.string('NSM_BUNDLE_CONFIGMAP', 'nsm-trust-bundle'),
    labels: parseLabels(r.string('NSM_LABELS', ''), 'NSM_LABELS', r.errors),
    certFile: r.string('NSM_CERT_FILE_PATH', ''),
    keyFile: r.string('NSM_KEY_FILE_PATH', ''),
    logLevel: r.string('NSM_LOG_LEVEL', 'info'),
  };
  if (config.image === '')
    r.errors.push('NSM_CONTAINER_IMAGE is not set: expected the image of the client containers to inject');
  if (config.issuerUrl && !/^https:\/\/[^/]+/.test(config.issuerUrl))
    r.errors.push(`NSM_ISSUER_URL="${config.issuerUrl}": expected https://<host>[:<port>]`);
  if ((config.certFile === '') !== (config.keyFile === ''))
    r.errors.push(
      'NSM_CERT_FILE_PATH and NSM_KEY_FILE_PATH go together: set both, or neither for a self-signed certificate',
    );
  return { config, problems: r.errors };
}

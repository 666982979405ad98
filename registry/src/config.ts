/** Registry daemon configuration from the environment (names as upstream NSM users know them). */
import { parseUrl } from '@nsm-ts/sdk/grpc';
import { readMetricsAddr, METRICS_USAGE } from '@nsm-ts/sdk/metrics';
import { readSecurityEnv, SECURITY_USAGE, type SecurityConfig } from '@nsm-ts/sdk/security';
import { EnvReader, formatDuration, parseDuration, podNamespace } from '@nsm-ts/sdk/tools';

/** The registry daemon's settings. */
export interface RegistryConfig {
  /** `NSM_NAME`: this registry's name in logs and registry paths. */
  name: string;
  /** `NSM_LISTEN_ON`: URLs to serve on. */
  listenOn: string[];
  /** `NSM_LOG_LEVEL`, as a pino level. */
  logLevel: string;
  /** `NSM_EXPIRE_PERIOD`: lifetime of an unrefreshed NSE registration, in ms. */
  expirePeriodMs: number;
  /** `NSM_MAX_TOKEN_LIFETIME`: lifetime of the tokens it signs, in ms. */
  maxTokenLifetimeMs: number;
  /** Identity (mTLS, tokens) and policies. */
  security: SecurityConfig;
  /** `NSM_REGISTRY_BACKEND`: records in memory (default) or as Kubernetes custom resources. */
  backend: 'memory' | 'k8s';
  /** `NSM_NAMESPACE`: the namespace of the custom resources (k8s backend). */
  namespace: string;
  /** `NSM_METRICS_ADDR`: `host:port` of the metrics endpoint; '' = none. */
  metricsAddr?: string;
}

/** A configuration that cannot be used; the message lists every problem found. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`bad configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Defaults, as upstream NSM has them. */
export const defaults = {
  name: 'registry',
  listenOn: ['tcp://0.0.0.0:5002'],
  logLevel: 'info',
  expirePeriodMs: 60_000,
} as const;

/** Accepted log levels; upstream (logrus) spellings map onto pino's. */
const levels: Readonly<Record<string, string>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  panic: 'fatal',
  silent: 'silent',
};

/** The usage text printed on a bad configuration. */
export const usage = `Usage: nsm-registry   (configured by environment variables)

  NSM_NAME            name of this registry                       (default ${defaults.name})
  NSM_LISTEN_ON       comma-separated URLs to serve on:
                      tcp://host:port or unix:///absolute/path.sock (default ${defaults.listenOn.join(',')})
  NSM_EXPIRE_PERIOD   lifetime of an NSE registration that is not refreshed,
                      e.g. 30s, 1m, 1m30s, 250ms                  (default ${formatDuration(defaults.expirePeriodMs)})
  NSM_LOG_LEVEL       trace, debug, info, warn, error, fatal or silent (default ${defaults.logLevel})
  NSM_MAX_TOKEN_LIFETIME  lifetime of the tokens it signs              (default 10m)
  NSM_REGISTRY_BACKEND  memory, or k8s: NetworkService and NetworkServiceEndpoint custom
                      resources, through the in-cluster service account or KUBECONFIG (default memory)
  NSM_NAMESPACE       namespace of the custom resources            (default: the pod's namespace, else default)
${METRICS_USAGE}
${SECURITY_USAGE}`;

/**
 * Reads the configuration from `env`, throwing a ConfigError that lists every bad setting.
 * Usage: `const config = parseRegistryConfig(process.env)`.
 */
export function parseRegistryConfig(env: Readonly<Record<string, string | undefined>>): RegistryConfig {
  const problems: string[] = [];
  const get = (key: string): string | undefined => {
    const value = env[key]?.trim();
    return value === '' ? undefined : value;
  };

  const name = get('NSM_NAME') ?? defaults.name;

  const listenText = get('NSM_LISTEN_ON');
  const listenOn =
    listenText === undefined
      ? [...defaults.listenOn]
      : listenText
          .split(',')
          .map((u) => u.trim())
          .filter((u) => u !== '');
  if (listenOn.length === 0) problems.push(`NSM_LISTEN_ON="${listenText}" names no URL`);
  for (const url of listenOn) {
    try {
      parseUrl(url);
    } catch (err) {
      problems.push(`NSM_LISTEN_ON: ${(err as Error).message}`);
    }
  }

  const levelText = get('NSM_LOG_LEVEL') ?? defaults.logLevel;
  const logLevel = levels[levelText.toLowerCase()];
  if (logLevel === undefined)
    problems.push(
      `NSM_LOG_LEVEL="${levelText}" is not a log level; expected trace, debug, info, warn, error, fatal or silent`,
    );

  let expirePeriodMs: number = defaults.expirePeriodMs;
  const expireText = get('NSM_EXPIRE_PERIOD');
  if (expireText !== undefined) {
    try {
      expirePeriodMs = parseDuration(expireText);
      if (expirePeriodMs <= 0) problems.push(`NSM_EXPIRE_PERIOD="${expireText}" must be longer than zero`);
    } catch (err) {
      problems.push(`NSM_EXPIRE_PERIOD: ${(err as Error).message}`);
    }
  }

  const backendText = (get('NSM_REGISTRY_BACKEND') ?? 'memory').toLowerCase();
  const backend =
    backendText === 'k8s' || backendText === 'kubernetes'
      ? 'k8s'
      : backendText === 'memory'
        ? 'memory'
        : undefined;
  if (backend === undefined)
    problems.push(`NSM_REGISTRY_BACKEND="${backendText}" is not a registry backend; expected memory or k8s`);
  const namespace = get('NSM_NAMESPACE') ?? podNamespace() ?? 'default';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace))
    problems.push(
      `NSM_NAMESPACE="${namespace}" is not a Kubernetes namespace name: expected a lowercase RFC 1123 label`,
    );

  const reader = new EnvReader(env);
  const security = readSecurityEnv(reader);
  const maxTokenLifetimeMs = reader.duration('NSM_MAX_TOKEN_LIFETIME', '10m');
  const metricsAddr = readMetricsAddr(reader);
  problems.push(...reader.errors);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    name,
    listenOn,
    logLevel: logLevel ?? defaults.logLevel,
    expirePeriodMs,
    maxTokenLifetimeMs,
    security,
    backend: backend ?? 'memory',
    namespace,
    metricsAddr,
  };
}

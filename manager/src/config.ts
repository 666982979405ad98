/** The manager's configuration, from the `NSM_*` environment (see `usage`). */
import { hostname } from 'node:os';
import { parseUrl } from '@nsm-ts/sdk/grpc';
import { readSecurityEnv, SECURITY_USAGE, type SecurityConfig } from '@nsm-ts/sdk/security';
import { readMetricsAddr, METRICS_USAGE } from '@nsm-ts/sdk/metrics';
import { readTracingConfig, TRACING_USAGE, type TracingConfig } from '@nsm-ts/sdk/tracing';
import { ConfigError, EnvReader } from '@nsm-ts/sdk/tools';

/** Manager settings. */
export interface ManagerConfig {
  name: string;
  nodeName: string;
  listenOn: string[];
  /** The URL remote managers and the registry use to reach this manager. */
  advertiseUrl: string;
  /** '' = an embedded in-memory registry. */
  registryUrl: string;
  maxTokenLifetimeMs: number;
  dialTimeoutMs: number;
  forwarderServiceName: string;
  logLevel: string;
  /** Identity (mTLS, tokens) and policies. */
  security: SecurityConfig;
  /** NSM_METRICS_ADDR: `host:port` of the metrics endpoint; '' = none. */
  metricsAddr?: string;
  /** NSM_TRACE_FILE and the OTLP endpoint: where its spans go; none = no tracing. */
  tracing?: TracingConfig;
}

export const usage = `Usage: nsmgr (configured by environment variables)

  NODE_NAME                            node this manager runs on (default: the host name)
  NSM_NAME                             manager name (default: nsmgr-<NODE_NAME>)
  NSM_LISTEN_ON                        comma list of URLs (default:
                                       unix:///var/lib/networkservicemesh/nsm.io.sock,tcp://0.0.0.0:5001)
  NSM_ADVERTISE_URL                    URL other nodes use to reach this manager (default: the first tcp://
                                       URL of NSM_LISTEN_ON, with NSM_TUNNEL_IP for a 0.0.0.0 host)
  NSM_TUNNEL_IP                        this node's address on the fabric
  NSM_REGISTRY_URL                     registry URL (default: empty = embedded in-memory registry)
  NSM_MAX_TOKEN_LIFETIME               token lifetime (default 10m)
  NSM_DIAL_TIMEOUT                     how long a call waits for its next hop to accept (default 1s)
  NSM_FORWARDER_NETWORK_SERVICE_NAME   service forwarders register under (default forwarder)
  NSM_LOG_LEVEL                        trace|debug|info|warn|error (default info)
${METRICS_USAGE}
${TRACING_USAGE}
${SECURITY_USAGE}`;

function advertised(listenOn: string[], tunnelIp: string, reader: EnvReader): string {
  const explicit = reader.url('NSM_ADVERTISE_URL');
  if (explicit) return explicit;
  const tcp = listenOn.find((u) => u.startsWith('tcp://'));
  if (!tcp) return listenOn[0] ?? '';
  const parsed = parseUrl(tcp);
  if (parsed.kind !== 'tcp') return tcp;
  if (parsed.host !== '0.0.0.0' && parsed.host !== '[::]') return tcp;
  if (!tunnelIp) {
    reader.errors.push(`NSM_ADVERTISE_URL or NSM_TUNNEL_IP is required when listening on ${tcp}`);
    return tcp;
  }
  return `tcp://${tunnelIp.includes(':') ? `[${tunnelIp}]` : tunnelIp}:${parsed.port}`;
}

/** Reads the configuration; throws ConfigError listing every problem. */
export function readManagerConfig(env: NodeJS.ProcessEnv = process.env): ManagerConfig {
  const r = new EnvReader(env);
  const nodeName = r.string('NODE_NAME', hostname());
  const listenOn = r.urls(
    'NSM_LISTEN_ON',
    'unix:///var/lib/networkservicemesh/nsm.io.sock,tcp://0.0.0.0:5001',
  );
  if (listenOn.length === 0) r.errors.push('NSM_LISTEN_ON: expected at least one URL');
  const config: ManagerConfig = {
    name: r.string('NSM_NAME', `nsmgr-${nodeName}`),
    nodeName,
    listenOn,
    advertiseUrl: advertised(listenOn, r.ip('NSM_TUNNEL_IP'), r),
    registryUrl: r.url('NSM_REGISTRY_URL'),
    maxTokenLifetimeMs: r.duration('NSM_MAX_TOKEN_LIFETIME', '10m'),
    dialTimeoutMs: r.duration('NSM_DIAL_TIMEOUT', '1s'),
    forwarderServiceName: r.string('NSM_FORWARDER_NETWORK_SERVICE_NAME', 'forwarder'),
    logLevel: r.string('NSM_LOG_LEVEL', 'info'),
    security: readSecurityEnv(r),
    metricsAddr: readMetricsAddr(r),
    tracing: readTracingConfig(r),
  };
  if (r.errors.length > 0) throw new ConfigError(r.errors);
  return config;
}

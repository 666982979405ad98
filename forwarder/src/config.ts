/** The forwarder's configuration, from the `NSM_*` environment (see `usage`). */
import { hostname } from 'node:os';
import { readSecurityEnv, SECURITY_USAGE, type SecurityConfig } from '@nsm-ts/sdk/security';
import { readMetricsAddr, METRICS_USAGE } from '@nsm-ts/sdk/metrics';
import { readTracingConfig, TRACING_USAGE, type TracingConfig } from '@nsm-ts/sdk/tracing';
import { ConfigError, EnvReader } from '@nsm-ts/sdk/tools';
import { parseLabels } from '@nsm-ts/sdk/tools';

/** Forwarder settings. */
export interface ForwarderConfig {
  name: string;
  nodeName: string;
  /** CLUSTER_NAME: scopes the interfaces this forwarder owns, so two clusters on one host never touch each other's. */
  clusterName: string;
  listenOn: string[];
  /** The local manager. */
  connectTo: string;
  serviceName: string;
  labels: Record<string, string>;
  tunnelIp: string;
  vxlanPort: number;
  maxTokenLifetimeMs: number;
  dialTimeoutMs: number;
  /** How long a request that no endpoint matches waits for one to register. */
  discoverWaitMs: number;
  logLevel: string;
  /** SR-IOV: upstream's config file ('' for none), the sysfs root and the VFIO device directory. */
  sriov: { configFile: string; sysfsRoot: string; vfioDir: string };
  /** Identity (mTLS, tokens) and policies. */
  security: SecurityConfig;
  /** NSM_METRICS_ADDR: `host:port` of the metrics endpoint; '' = none. */
  metricsAddr?: string;
  /** NSM_TRACE_FILE and the OTLP endpoint: where its spans go; none = no tracing. */
  tracing?: TracingConfig;
}

export const usage = `Usage: forwarder (configured by environment variables)

  NODE_NAME                            node this forwarder runs on (default: the host name)
  CLUSTER_NAME                         cluster name; part of the owner mark on the interfaces it builds
  NSM_NAME                             forwarder name (default: forwarder-<NODE_NAME>)
  NSM_LISTEN_ON                        URL to serve on (default: unix:///var/lib/networkservicemesh/<NSM_NAME>.sock)
  NSM_CONNECT_TO                       the local manager (default: unix:///var/lib/networkservicemesh/nsm.io.sock)
  NSM_FORWARDER_NETWORK_SERVICE_NAME   service to register under (default forwarder)
  NSM_LABELS                           labels, k:v,k2:v2 (default p2p:true)
  NSM_TUNNEL_IP                        this node's address on the fabric (needed for VXLAN to other nodes)
  NSM_VXLAN_PORT                       VXLAN UDP port (default 4789)
  NSM_MAX_TOKEN_LIFETIME               token lifetime (default 10m)
  NSM_DIAL_TIMEOUT                     how long a call waits for its next hop to accept (default 1s)
  NSM_DISCOVER_WAIT                    how long a request that no endpoint matches waits for one to
                                       register, within its deadline (default 5s; 0 answers at once)
  NSM_LOG_LEVEL                        trace|debug|info|warn|error (default info)
  NSM_SRIOV_CONFIG_FILE                SR-IOV PFs and their pools, upstream's format (default: no SR-IOV)
  NSM_SYSFS_ROOT                       where sysfs is (default /sys; the lab's emulated NICs set it)
  NSM_VFIO_DIR                         where the VFIO device nodes are (default /dev/vfio)
${METRICS_USAGE}
${TRACING_USAGE}
${SECURITY_USAGE}`;

/** Reads the configuration; throws ConfigError listing every problem. */
export function readForwarderConfig(env: NodeJS.ProcessEnv = process.env): ForwarderConfig {
  const r = new EnvReader(env);
  const nodeName = r.string('NODE_NAME', hostname());
  const name = r.string('NSM_NAME', `forwarder-${nodeName}`);
  const config: ForwarderConfig = {
    name,
    nodeName,
    clusterName: r.string('CLUSTER_NAME', ''),
    listenOn: r.urls('NSM_LISTEN_ON', `unix:///var/lib/networkservicemesh/${name}.sock`),
    connectTo: r.url('NSM_CONNECT_TO', 'unix:///var/lib/networkservicemesh/nsm.io.sock'),
    serviceName: r.string('NSM_FORWARDER_NETWORK_SERVICE_NAME', 'forwarder'),
    labels: parseLabels(r.string('NSM_LABELS', 'p2p:true'), 'NSM_LABELS', r.errors),
    tunnelIp: r.ip('NSM_TUNNEL_IP'),
    vxlanPort: r.integer('NSM_VXLAN_PORT', 4789, 1, 65535),
    maxTokenLifetimeMs: r.duration('NSM_MAX_TOKEN_LIFETIME', '10m'),
    dialTimeoutMs: r.duration('NSM_DIAL_TIMEOUT', '1s'),
    discoverWaitMs: r.duration('NSM_DISCOVER_WAIT', '5s'),
    logLevel: r.string('NSM_LOG_LEVEL', 'info'),
    sriov: {
      configFile: r.string('NSM_SRIOV_CONFIG_FILE', ''),
      sysfsRoot: r.string('NSM_SYSFS_ROOT', '/sys'),
      vfioDir: r.string('NSM_VFIO_DIR', '/dev/vfio'),
    },
    security: readSecurityEnv(r),
    metricsAddr: readMetricsAddr(r),
    tracing: readTracingConfig(r),
  };
  if (r.errors.length > 0) throw new ConfigError(r.errors);
  return config;
}

#!/usr/bin/env node
/**
 * What runs inside a lab pod in place of its container image: the built-in endpoint, client or
 * passthrough role, configured by the same environment the upstream images read.
 *
 *   client:      NSM_NETWORK_SERVICES=kernel://<service>/<ifname>?k=v[,...]
 *   endpoint:    NSM_SERVICE_NAMES=a,b  NSM_LABELS=k:v,k2:v2  NSM_CIDR_PREFIX=10.60.1.0/24
 *   passthrough: both (the first client URL names the next service and the labels to present)
 *   all:         POD_NAME, NODE_NAME, NSM_CONNECT_TO, NSM_LISTEN_ON, NSM_POD_STATUS (status file),
 *                NSM_IDENTITY_DIR (or SPIFFE_ENDPOINT_SOCKET, or NSM_INSECURE=true)
 */
import { createLivenessCheck, createLivenessMonitor } from '@nsm-ts/forwarder/liveness';
import type { Connection } from '@nsm-ts/sdk/api';
import type { Context } from '@nsm-ts/sdk/core';
import { kernelMechanism } from '@nsm-ts/sdk/elements';
import { createLogger } from '@nsm-ts/sdk/core';
import { EnvReader, parseLabels } from '@nsm-ts/sdk/tools';
import { readSecurityEnv, setupSecurity } from '@nsm-ts/sdk/security';
import { parseClientAnnotation } from '../manifests/client-url.js';
import { passthroughBridge, passthroughNames } from './bridge.js';
import { runClient } from './run-client.js';
import { runEndpoint } from './run-endpoint.js';
import { writePodStatus, type PodStatus } from './status-file.js';

const env = process.env;
const pod = env['POD_NAME'] ?? 'pod';
const log = createLogger(pod, env['NSM_LOG_LEVEL'] ?? 'info');
const managerUrl = env['NSM_CONNECT_TO'] ?? 'unix:///var/lib/networkservicemesh/nsm.io.sock';
const statusFile = env['NSM_POD_STATUS'];
const { requests, problems } = env['NSM_NETWORK_SERVICES']
  ? parseClientAnnotation(env['NSM_NETWORK_SERVICES'])
  : { requests: [], problems: [] };
const serviceNames = (env['NSM_SERVICE_NAMES'] ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const isEndpoint = serviceNames.length > 0;
const labelErrors: string[] = [];
const labels = parseLabels(env['NSM_LABELS'] ?? '', 'NSM_LABELS', labelErrors);
const securityEnv = new EnvReader(env);
const securityConfig = readSecurityEnv(securityEnv);
if (
  problems.length > 0 ||
  labelErrors.length > 0 ||
  securityEnv.errors.length > 0 ||
  (!isEndpoint && requests.length === 0)
) {
  const all = [...problems, ...labelErrors, ...securityEnv.errors];
  if (all.length === 0)
    all.push('neither NSM_NETWORK_SERVICES (client) nor NSM_SERVICE_NAMES (endpoint) is set');
  process.stderr.write(`pod ${pod}: bad configuration:\n  ${all.join('\n  ')}\n`);
  process.exit(2);
}

const status: PodStatus = {
  pod,
  pid: process.pid,
  role: isEndpoint ? (requests.length > 0 ? 'passthrough' : 'endpoint') : 'client',
  requests: [],
  updatedAt: '',
};
const save = (): void => writePodStatus(statusFile, status);

// The pod's identity (NSM_IDENTITY_DIR, issued and renewed by the lab's supervisor), as a CNF would load it.
const security = await setupSecurity(securityConfig, { name: pod, log });

let stop: () => Promise<void>;
if (isEndpoint) {
  const next = requests[0];
  stop = await runEndpoint({
    log,
    managerUrl,
    listenOn: env['NSM_LISTEN_ON'],
    name: env['NSM_NAME'] ?? pod,
    serviceNames,
    labels,
    cidrPrefix: (env['NSM_CIDR_PREFIX'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    ...(next
      ? {
          elements: [passthroughBridge(log)],
          passthrough: {
            networkService: next.service,
            labels: { ...labels, ...next.labels },
            mechanisms: (conn) => [
              kernelMechanism({
                name: passthroughNames(conn.id).out,
                inodeURL: `file:///proc/${process.pid}/ns/net`,
              }),
            ],
          },
        }
      : {}),
    ...(security.identity ? { identity: security.identity } : {}),
    authorize: security.authorization !== undefined,
    onRegistered: (endpoint) => {
      status.endpoint = endpoint;
      save();
    },
  });
} else {
  // Heal asks the data plane first: a wire that still passes traffic is repaired on the same path.
  // and a ping every 200 ms (100 ms timeout, 3 misses) notices a broken data plane by itself.
  const monitor = createLivenessMonitor({ everyMs: 200, timeoutMs: 100, misses: 3 });
  const dataPlane = {
    watch: (ctx: Context, conn: Connection, onFailure: () => void) =>
      monitor.watch(ctx, conn, () => onFailure()),
  };
  stop = runClient({
    log,
    managerUrl,
    pod,
    requests,
    status,
    save,
    livenessCheck: createLivenessCheck(),
    dataPlane,
    identity: security.identity,
  });
}
save();
// The SDK's timers never hold a process; this one does (a pod lives until stopped) and keeps the status fresh.
const keepAlive = setInterval(save, 5000);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    clearInterval(keepAlive);
    log.info({ signal }, 'stopping');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stopping failed');
        process.exit(1);
      },
    );
  });
}

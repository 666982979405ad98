#!/usr/bin/env node
/**
 * `nse`: a configurable endpoint, the one the lab's endpoint and passthrough pods run. It registers
 * NSM_SERVICE_NAMES with NSM_LABELS through the node's manager and serves connections: a kernel
 * interface in the pod with an address pair from NSM_CIDR_PREFIX (the pod's kernel answers ping).
 * With NSM_NETWORK_SERVICES as well it is a passthrough: each connection it serves continues to the
 * service of the first URL (its labels presented), and the two interfaces are bridged.
 */
import { kernelMechanism } from '@nsm-ts/sdk/elements';
import { parseLabels } from '@nsm-ts/sdk/tools';
import { parseClientAnnotation } from '../manifests/client-url.js';
import { passthroughBridge, passthroughNames } from './bridge.js';
import { runEndpoint } from './run-endpoint.js';
import { checkArgs, COMMON_USAGE, readCommon, serveUntilStopped, startRuntime } from './runtime.js';

const USAGE = `Usage: nse   (configured by environment variables)

  NSM_SERVICE_NAMES       the network services it provides: a,b (required)
  NSM_LABELS              the labels it offers for selection: k:v,k2:v2
  NSM_CIDR_PREFIX         address pools for its connections: 10.60.1.0/24[,fd00::/64]
  NSM_LISTEN_ON           where it serves (default a unix socket of its own)
  NSM_NETWORK_SERVICES    makes it a passthrough: kernel://<next service>/<ifname>[?labels]
${COMMON_USAGE}`;

const env = process.env;
const problems: string[] = [];
const common = readCommon(env, problems);
const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const serviceNames = list(env['NSM_SERVICE_NAMES']);
if (serviceNames.length === 0)
  problems.push('NSM_SERVICE_NAMES is not set: expected the network services this endpoint provides, a,b');
const labels = parseLabels(env['NSM_LABELS'] ?? '', 'NSM_LABELS', problems);
const next = env['NSM_NETWORK_SERVICES'] ? parseClientAnnotation(env['NSM_NETWORK_SERVICES']) : undefined;
problems.push(...(next?.problems ?? []).map((p) => `NSM_NETWORK_SERVICES: ${p}`));
checkArgs('nse', USAGE, problems);

const onward = next?.requests[0];
const runtime = await startRuntime(common, onward ? 'passthrough' : 'endpoint');
const { log, security, status } = runtime;
const stop = await runEndpoint({
  log,
  managerUrl: runtime.managerUrl,
  listenOn: env['NSM_LISTEN_ON'],
  name: runtime.name,
  serviceNames,
  labels,
  cidrPrefix: list(env['NSM_CIDR_PREFIX']),
  ...(onward
    ? {
        elements: [passthroughBridge(log)],
        passthrough: {
          networkService: onward.service,
          labels: { ...labels, ...onward.labels },
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
    runtime.save();
  },
});
serveUntilStopped(runtime, stop);

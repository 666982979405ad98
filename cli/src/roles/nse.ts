#!/usr/bin/env node
/**
 * `nse`: a configurable endpoint, the one the lab's endpoint and passthrough pods run. It registers
 * NSM_SERVICE_NAMES with NSM_LABELS through the node's manager and serves connections: a kernel
 * interface in the pod with an address pair from NSM_CIDR_PREFIX (the pod's kernel answers ping).
 * With NSM_NETWORK_SERVICES as well it is a passthrough: each connection it serves continues to the
 * service of the first URL (its labels presented), and the two interfaces are bridged.
 * NSM_MECHANISMS says which interfaces it serves: KERNEL (default), MEMIF (a memif per connection,
 * answering ARP and ping and pinging the client over it), or both.
 */
import { externalVxlanEndpoint, kernelEndpoint, parseExternalVxlan, type ExternalVxlan } from '@nsm-ts/sdk';
import { chain, element, type NetworkServiceElement } from '@nsm-ts/sdk/core';
import { kernelMechanism, sriovTokenEndpoint, tokensFromEnv } from '@nsm-ts/sdk/elements';
import { memifEndpoint } from '@nsm-ts/forwarder/memif';
import { EnvReader, parseLabels } from '@nsm-ts/sdk/tools';
import { readTracingConfig, startTracing, TRACING_USAGE } from '@nsm-ts/sdk/tracing';
import { parseClientAnnotation } from '../manifests/client-url.js';
import { passthroughBridge, passthroughNames } from './bridge.js';
import { memifAddresses, MemifSides } from './memif-side.js';
import { runEndpoint } from './run-endpoint.js';
import { checkArgs, COMMON_USAGE, readCommon, serveUntilStopped, startRuntime } from './runtime.js';

const USAGE = `Usage: nse   (configured by environment variables)

  NSM_SERVICE_NAMES       the network services it provides: a,b (required)
  NSM_LABELS              the labels it offers for selection: k:v,k2:v2
  NSM_CIDR_PREFIX         address pools for its connections: 10.60.1.0/24[,fd00::/64]
  NSM_LISTEN_ON           where it serves (default a unix socket of its own)
  NSM_MECHANISMS          the interfaces it serves: KERNEL (default), MEMIF, or KERNEL,MEMIF
  NSM_NETWORK_SERVICES    makes it a passthrough: kernel://<next service>/<ifname>[?labels]
  NSM_EXTERNAL_URL        makes it the gateway of an external VNF the mesh does not run:
                          vxlan://<vtep>[:port]?vni=<n>|<a>-<b>&ip=<vnf address>/<len>[&pool=..][&routes=..][&mtu=..]
                          (it allocates VNIs and addresses; clients' forwarders tunnel to the VTEP)
${TRACING_USAGE}
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
let external: ExternalVxlan | undefined;
if (env['NSM_EXTERNAL_URL']) {
  try {
    external = parseExternalVxlan(env['NSM_EXTERNAL_URL']);
  } catch (err) {
    problems.push(`NSM_EXTERNAL_URL: ${(err as Error).message}`);
  }
  if (next || env['NSM_CIDR_PREFIX'])
    problems.push(
      'NSM_EXTERNAL_URL: an external endpoint is no passthrough and takes its addresses from the URL',
    );
  if (env['NSM_MECHANISMS'])
    problems.push(
      'NSM_EXTERNAL_URL: an external endpoint is reached over VXLAN only; expected no NSM_MECHANISMS',
    );
  if (tokensFromEnv(env).size > 0)
    problems.push(
      'NSM_EXTERNAL_URL: an external endpoint has no SR-IOV VFs; expected no NSM_SRIOV_TOKENS_* variables',
    );
}
// An external endpoint's gateway serves VXLAN only (from the URL); NSM_MECHANISMS is for the others.
const served = env['NSM_EXTERNAL_URL']
  ? []
  : list(env['NSM_MECHANISMS'] ?? 'KERNEL').map((m) => m.toUpperCase());
for (const m of served)
  if (m !== 'KERNEL' && m !== 'MEMIF')
    problems.push(`NSM_MECHANISMS: "${m}" is not a mechanism this endpoint serves; expected KERNEL or MEMIF`);
if (served.length === 0 && !env['NSM_EXTERNAL_URL'])
  problems.push('NSM_MECHANISMS is empty; expected KERNEL, MEMIF or KERNEL,MEMIF');
if (next && served.includes('MEMIF'))
  problems.push('NSM_MECHANISMS: a passthrough bridges kernel interfaces; MEMIF is for endpoints only');
if (next?.requests.some((r) => r.mechanism !== 'KERNEL'))
  problems.push('NSM_NETWORK_SERVICES: a passthrough continues over kernel://, not memif://');
const reader = new EnvReader(env);
const tracingConfig = readTracingConfig(reader);
problems.push(...reader.errors);
checkArgs('nse', USAGE, problems);

const onward = next?.requests[0];
const runtime = await startRuntime(common, onward ? 'passthrough' : 'endpoint');
const { log, security, status } = runtime;
// A span for each request and close it serves, a child of its forwarder's call (nsm trace).
const tracing = startTracing(tracingConfig, { service: runtime.pod, log });
const memif = new MemifSides();
const mechanisms: Record<string, NetworkServiceElement> = external
  ? { VXLAN: externalVxlanEndpoint(runtime.name, external) }
  : { NOOP: element({}) };
// A pod given SR-IOV tokens (resources.limits of a pool) serves each connection on a VF of its own.
const [sriovPool] = [...tokensFromEnv(env).keys()];
if (served.includes('KERNEL') && !external)
  mechanisms['KERNEL'] = sriovPool
    ? chain(sriovTokenEndpoint(sriovPool, env), kernelEndpoint())
    : kernelEndpoint();
if (served.includes('MEMIF') && !external) {
  mechanisms['MEMIF'] = memifEndpoint({
    onConnection: (conn, iface) => {
      const addrs = memifAddresses(conn, 'endpoint');
      if (!addrs) {
        log.warn({ connId: conn.id }, 'memif connection without an IPv4 address pair: not probed');
        return;
      }
      const socket = conn.mechanism?.parameters['socketfile'] ?? '';
      memif.attach(conn.id, { socket, role: 'server', ...addrs, open: () => ({ iface }) });
      return () => memif.detach(conn.id);
    },
  });
  runtime.onSave((s) => {
    s.memifs = memif.connections().map((connectionId) => ({ connectionId, ...memif.report(connectionId)! }));
  });
  setInterval(runtime.save, 1000).unref();
}
const stop = await runEndpoint({
  log,
  managerUrl: runtime.managerUrl,
  listenOn: env['NSM_LISTEN_ON'],
  name: runtime.name,
  serviceNames,
  labels,
  cidrPrefix: list(env['NSM_CIDR_PREFIX']),
  mechanisms,
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
  ...(tracing ? { tracer: tracing.tracer } : {}),
  onRegistered: (endpoint) => {
    status.endpoint = endpoint;
    runtime.save();
  },
});
serveUntilStopped(runtime, async () => {
  await stop();
  await tracing?.shutdown();
});

#!/usr/bin/env node
/**
 * `nsc`: the mesh client of a pod, the one the admission webhook injects and the one the lab's client
 * pods run. It requests every connection of NSM_NETWORK_SERVICES through the node's manager, each on
 * its own and retried until up, and keeps them (refresh and heal are the SDK's, with a data-plane ping
 * every 200 ms). With `--once` (the init container) it exits 0 as soon as every connection is up,
 * leaving them in place, or 1 after NSM_REQUEST_TIMEOUT naming what is not up. Without it, it first
 * takes over what an earlier process left in NSM_POD_STATUS (the init container's connections, by a
 * refresh that keeps their interfaces), then requests the rest.
 */
import { createLivenessCheck, createLivenessMonitor } from '@nsm-ts/forwarder/liveness';
import type { Connection } from '@nsm-ts/sdk/api';
import type { Context } from '@nsm-ts/sdk/core';
import { daemonMetrics, healMetrics, METRICS_USAGE, readMetricsAddr } from '@nsm-ts/sdk/metrics';
import { EnvReader, formatDuration } from '@nsm-ts/sdk/tools';
import { readTracingConfig, startTracing, TRACING_USAGE } from '@nsm-ts/sdk/tracing';
import { parseClientAnnotation } from '../manifests/client-url.js';
import { externalMemif, MemifSides } from './memif-side.js';
import { runClient, tapAware } from './run-client.js';
import { readPodStatusFile } from './status-file.js';
import { checkArgs, COMMON_USAGE, readCommon, serveUntilStopped, startRuntime } from './runtime.js';

const USAGE = `Usage: nsc [--once]   (configured by environment variables)

  --once                  make the connections, leave them up and exit (an init container)
  NSM_NETWORK_SERVICES    the connections: kernel://<service>/<ifname>[?key=value&...][,more]
                          (memif://... for a memif: answered for ARP and ping, and pinging the
                          endpoint, so the link can be proven with traffic; tap://... for a tap,
                          whose addresses are for a VM the pod runs: not pinged)
  NSM_REQUEST_TIMEOUT     with --once: how long to wait for every connection (default 1m)
  NSM_MEMIF_OPEN          false: leave each memif to a program you attach (DPDK net_memif, role
                          client, on the socket nsm status shows); default true
${METRICS_USAGE}
                                       (heal events and durations; not with --once)
${TRACING_USAGE}
                                       (a trace per request, refresh, heal and close)
  (NSM_POD_STATUS is shared by the init container and the sidecar: the sidecar takes over the
   connections the init container left there)
${COMMON_USAGE}`;

const env = process.env;
const problems: string[] = [];
const common = readCommon(env, problems);
const text = env['NSM_NETWORK_SERVICES'] ?? '';
const parsed = parseClientAnnotation(text);
if (!text)
  problems.push(
    'NSM_NETWORK_SERVICES is not set: expected kernel://<service>/<ifname>[?labels] or memif://...',
  );
else problems.push(...parsed.problems.map((p) => `NSM_NETWORK_SERVICES: ${p}`));
const reader = new EnvReader(env);
const timeoutMs = reader.duration('NSM_REQUEST_TIMEOUT', '1m');
const openMemifs = reader.boolean('NSM_MEMIF_OPEN', true);
const metricsAddr = readMetricsAddr(reader);
const tracingConfig = readTracingConfig(reader);
problems.push(...reader.errors);
checkArgs('nsc', USAGE, problems);

const once = process.argv.includes('--once');
// Read before this process writes its own: what the init container (`--once`) left up.
const previous = once ? undefined : readPodStatusFile(common.statusFile);
const runtime = await startRuntime(common, 'client');
// Heal happens here, in the client: its events are counted when NSM_METRICS_ADDR is set.
const metrics = once ? undefined : await daemonMetrics(metricsAddr, runtime.log);
// Every request this client makes is the root of a trace through the hops (nsm trace <pod>).
const tracing = startTracing(tracingConfig, { service: runtime.pod, log: runtime.log });
// Heal asks the data plane first: a wire that still passes traffic is repaired on the same path,
// and a ping every 200 ms (100 ms timeout, 3 misses) notices a broken data plane by itself. A memif
// has no kernel interface to ping from: its own probe answers for it.
const memif = new MemifSides();
const livenessCheck = memif.livenessCheck(tapAware(createLivenessCheck({ timeoutMs: 100 })), {
  unattached: openMemifs ? 'dead' : 'alive',
});
const monitor = createLivenessMonitor({ everyMs: 200, misses: 3, check: livenessCheck });
runtime.onSave((status) => {
  for (const r of status.requests) {
    const report = r.connectionId ? memif.report(r.connectionId) : undefined;
    const external = !openMemifs && r.connection ? externalMemif(r.connection) : undefined;
    if (report ?? external) r.memif = (report ?? external)!;
    else delete r.memif;
  }
});
// The memif counters are what `nsm check` reads: kept fresh while there are memifs.
if (parsed.requests.some((r) => r.mechanism === 'MEMIF')) setInterval(runtime.save, 1000).unref();
const client = runClient({
  log: runtime.log,
  managerUrl: runtime.managerUrl,
  pod: runtime.name,
  requests: parsed.requests,
  status: runtime.status,
  save: runtime.save,
  livenessCheck,
  dataPlane: {
    watch: (ctx: Context, conn: Connection, onFailure: () => void) =>
      monitor.watch(ctx, conn, () => onFailure()),
  },
  identity: runtime.security.identity,
  ...(openMemifs ? { memif } : {}),
  ...(previous ? { resume: previous.requests } : {}),
  ...(metrics ? { onEvent: healMetrics(metrics.registry) } : {}),
  ...(tracing ? { tracer: tracing.tracer } : {}),
});

if (once) {
  const started = Date.now();
  const timer = setInterval(() => {
    const pending = runtime.status.requests.filter((r) => r.state !== 'up');
    if (pending.length === 0) {
      clearInterval(timer);
      runtime.save();
      client.abandon();
      runtime.log.info(
        { connections: runtime.status.requests.length },
        'connections up; leaving them to the sidecar',
      );
      void (tracing?.shutdown() ?? Promise.resolve()).finally(() => process.exit(0));
    }
    if (Date.now() - started > timeoutMs) {
      clearInterval(timer);
      const what = pending.map((r) => `${r.service}/${r.ifname}: ${r.error ?? 'no answer yet'}`);
      process.stderr.write(
        `nsc --once: not up after ${formatDuration(timeoutMs)}:\n  ${what.join('\n  ')}\n`,
      );
      void client.stop().finally(() => process.exit(1));
    }
  }, 100);
} else {
  serveUntilStopped(runtime, async () => {
    await client.stop();
    await tracing?.shutdown();
  });
}

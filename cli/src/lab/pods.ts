/** The pods of a lab as supervisor components: the nsc and nse commands, configured by environment. */
import { join } from 'node:path';
import { formatClientUrl } from '../manifests/client-url.js';
import { roleOf, type PodPlan } from '../manifests/manifests.js';
import { componentId, identityEnv } from './identities.js';
import { METRICS_PORTS, type Lab } from './lab.js';
import { scripts } from './scripts.js';
import type { ComponentSpec } from './supervisor/spec.js';
import { registryFabricUrl } from './daemons.js';
import { REGISTRY_IP } from './topology.js';

/** The environment of a pod's role, as upstream's images read it. */
export function podEnv(lab: Lab, pod: PodPlan): Record<string, string> {
  if (pod.host) return hostEnv(lab, pod);
  const env: Record<string, string> = {
    POD_NAME: pod.name,
    NODE_NAME: pod.node,
    CLUSTER_NAME: `lab-${lab.name}`,
    NSM_CONNECT_TO: lab.socket(`nsmgr-${pod.node}`),
    NSM_POD_STATUS: join(lab.podDir, `${pod.name}.json`),
    // Its spans: a client's requests are the roots of the traces `nsm trace <pod>` prints.
    NSM_TRACE_FILE: lab.traceFile(`pod-${pod.name}`),
  };
  if (pod.client) {
    env['NSM_NETWORK_SERVICES'] = pod.client.requests.map(formatClientUrl).join(',');
    // Heal metrics, on the loopback of the pod's own namespace (nothing else binds there).
    env['NSM_METRICS_ADDR'] = `127.0.0.1:${METRICS_PORTS.client}`;
    if (pod.client.memifExternal) env['NSM_MEMIF_OPEN'] = 'false';
  }
  if (pod.endpoint) {
    env['NSM_NAME'] = pod.endpoint.name;
    env['NSM_SERVICE_NAMES'] = pod.endpoint.serviceNames.join(',');
    env['NSM_LABELS'] = Object.entries(pod.endpoint.labels)
      .map(([k, v]) => `${k}:${v}`)
      .join(',');
    if (!pod.external) {
      env['NSM_CIDR_PREFIX'] = pod.endpoint.cidrPrefix.join(',');
      env['NSM_MECHANISMS'] = pod.endpoint.mechanisms.join(',');
    }
    env['NSM_LISTEN_ON'] = lab.socket(`pod-${pod.name}`);
  }
  if (pod.external) {
    // The gateway of an external VNF: on the fabric beside the registry, which it registers with
    // directly (it is on no node); forwarders of every node dial it there.
    env['NSM_EXTERNAL_URL'] = pod.external.url;
    env['NSM_CONNECT_TO'] = registryFabricUrl;
    env['NSM_LISTEN_ON'] = `tcp://${REGISTRY_IP}:0`;
    delete env['NODE_NAME'];
  }
  // What a device plugin would give it for its resources.limits of SR-IOV pools.
  Object.assign(env, pod.sriovTokens ?? {});
  if (pod.containers) {
    // The user's containers: the role runs them beside itself, logging to <logs>/pod-<name>.<container>.log.
    env['NSM_POD_CONTAINERS'] = JSON.stringify(pod.containers);
    env['NSM_CONTAINER_LOGS'] = join(lab.logDir, `pod-${pod.name}`);
  }
  return env;
}

/** A fabric host runs only its own containers: it is outside the mesh and gets no identity. */
function hostEnv(lab: Lab, pod: PodPlan): Record<string, string> {
  return {
    POD_NAME: pod.name,
    NSM_POD_STATUS: join(lab.podDir, `${pod.name}.json`),
    NSM_INSECURE: 'true',
    ...(pod.containers
      ? {
          NSM_POD_CONTAINERS: JSON.stringify(pod.containers),
          NSM_CONTAINER_LOGS: join(lab.logDir, `pod-${pod.name}`),
        }
      : {}),
  };
}

const SCRIPTS = {
  client: scripts.nsc,
  endpoint: scripts.nse,
  passthrough: scripts.nse,
  external: scripts.nse,
  host: scripts.host,
} as const;

/** The supervisor component of a pod (restart policy Always, as a Deployment's pods have). */
export function podSpec(lab: Lab, pod: PodPlan, logLevel: string, secure: boolean): ComponentSpec {
  return {
    name: `pod/${pod.name}`,
    kind: 'pod',
    ...(secure && !pod.host ? { identity: componentId('pod', pod.name) } : {}),
    node: pod.node,
    netns: lab.netns(pod.external ? 'fabric' : pod.name),
    // The same commands a cluster runs: the webhook's client containers, and the endpoint image.
    script: SCRIPTS[roleOf(pod)],
    log: lab.log(`pod-${pod.name}`),
    restart: 'Always',
    env: {
      ...podEnv(lab, pod),
      NSM_LOG_LEVEL: logLevel,
      ...(pod.host ? {} : identityEnv(lab, `pod/${pod.name}`, secure)),
    },
  };
}

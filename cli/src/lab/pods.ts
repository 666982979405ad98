/** The pods of a lab as supervisor components: the nsc and nse commands, configured by environment. */
import { join } from 'node:path';
import { formatClientUrl } from '../manifests/client-url.js';
import { roleOf, type PodPlan } from '../manifests/manifests.js';
import { componentId, identityEnv } from './identities.js';
import { METRICS_PORTS, type Lab } from './lab.js';
import { scripts } from './scripts.js';
import type { ComponentSpec } from './supervisor/spec.js';

/** The environment of a pod's role, as upstream's images read it. */
export function podEnv(lab: Lab, pod: PodPlan): Record<string, string> {
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
    env['NSM_CIDR_PREFIX'] = pod.endpoint.cidrPrefix.join(',');
    env['NSM_MECHANISMS'] = pod.endpoint.mechanisms.join(',');
    env['NSM_LISTEN_ON'] = lab.socket(`pod-${pod.name}`);
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

/** The supervisor component of a pod (restart policy Always, as a Deployment's pods have). */
export function podSpec(lab: Lab, pod: PodPlan, logLevel: string, secure: boolean): ComponentSpec {
  return {
    name: `pod/${pod.name}`,
    kind: 'pod',
    ...(secure ? { identity: componentId('pod', pod.name) } : {}),
    node: pod.node,
    netns: lab.netns(pod.name),
    // The same commands a cluster runs: the webhook's client containers, and the endpoint image.
    script: roleOf(pod) === 'client' ? scripts.nsc : scripts.nse,
    log: lab.log(`pod-${pod.name}`),
    restart: 'Always',
    env: { ...podEnv(lab, pod), NSM_LOG_LEVEL: logLevel, ...identityEnv(lab, `pod/${pod.name}`, secure) },
  };
}

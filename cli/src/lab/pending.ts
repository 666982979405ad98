/** What a lab still waits for: endpoints not registered, requested connections not up, and why. */
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { readPodStatusFile, type PodStatus } from '../roles/status-file.js';

/** A requested connection (or an endpoint registration) that is not up. */
export interface PendingConnection {
  pod: string;
  ifname: string;
  service: string;
  error?: string;
}

/** The status file of a pod, if it wrote one. */
export function readPodStatus(lab: Lab, pod: string): PodStatus | undefined {
  return readPodStatusFile(join(lab.podDir, `${pod}.json`));
}

/** The pods' part a lab waits for, as their status files tell. */
export interface PendingPod {
  name: string;
  client?: { requests: { service: string; ifname: string }[] };
  endpoint?: { serviceNames: string[] };
}

/** Everything of `pods` that is not up yet, with the reason the pod reported. */
export function pendingOf(lab: Lab, pods: readonly PendingPod[]): PendingConnection[] {
  const pending: PendingConnection[] = [];
  for (const pod of pods) {
    const status = readPodStatus(lab, pod.name);
    if (pod.endpoint && !status?.endpoint) {
      pending.push({
        pod: pod.name,
        ifname: '',
        service: pod.endpoint.serviceNames.join(','),
        error: 'the endpoint has not registered yet',
      });
    }
    // A passthrough's own request follows its incoming connections; only clients request on their own.
    if (!pod.client || pod.endpoint) continue;
    for (const request of pod.client.requests) {
      const seen = status?.requests.find((r) => r.ifname === request.ifname);
      if (seen?.state !== 'up') {
        pending.push({
          pod: pod.name,
          ifname: request.ifname,
          service: request.service,
          ...(seen?.error ? { error: seen.error } : {}),
        });
      }
    }
  }
  return pending;
}

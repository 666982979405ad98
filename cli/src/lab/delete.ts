/**
 * `nsm delete <pod>`: removes a pod as Kubernetes does. Its process is stopped (SIGTERM, so a client
 * closes its connections and an endpoint unregisters; SIGKILL after the grace period), its endpoint
 * registration is removed should it not have gone by itself, and its network namespace, status and
 * socket go. The supervisor forgets it: nothing restarts it. `nsm up` again brings it back.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { newEndpoint } from '@nsm-ts/sdk/api';
import { createContext } from '@nsm-ts/sdk/core';
import { labDial } from './identities.js';
import type { Lab, LabState } from './lab.js';
import { removeComponent } from './supervisor/control.js';
import { ipBatch } from './system.js';

/** Removes the registry record of endpoint `name`, if there is one (a pod killed without unregistering). */
async function unregisterEndpoint(lab: Lab, name: string): Promise<boolean> {
  const registry = await labDial(lab, lab.socket('registry'), { dialTimeoutMs: 500 });
  const ctx = createContext({ deadline: Date.now() + 3000 });
  try {
    const found = await lastValueFrom(
      registry.endpointRegistry
        .find(ctx, { network_service_endpoint: newEndpoint({ name }), watch: false })
        .pipe(toArray()),
    );
    const records = found.flatMap((r) =>
      r.network_service_endpoint?.name === name ? [r.network_service_endpoint] : [],
    );
    for (const record of records) await registry.endpointRegistry.unregister(ctx, record);
    return records.length > 0;
  } finally {
    registry.close();
  }
}

/** Deletes pod `name` from a running lab; returns the updated state. */
export async function deletePod(lab: Lab, state: LabState, name: string): Promise<LabState> {
  const pod = state.pods.find((p) => p.name === name);
  if (!pod) {
    const daemons = state.components.filter((c) => c.kind !== 'pod').map((c) => c.name);
    const hint = daemons.includes(name) ? `; "${name}" is a daemon: "nsm stop ${name}" stops it` : '';
    const known = state.pods.map((p) => p.name).join(', ') || 'none';
    throw new Error(`no pod "${name}" in lab "${lab.name}"${hint}; pods: ${known}`);
  }
  await removeComponent(lab, `pod/${name}`);
  if (pod.endpoint) await unregisterEndpoint(lab, pod.endpoint).catch(() => false);
  // An external endpoint's gateway runs in the fabric's namespace, which stays.
  if (pod.role !== 'external') await ipBatch([`netns del ${pod.netns}`], { force: true });
  rmSync(join(lab.podDir, `${name}.json`), { force: true });
  rmSync(lab.socket(`pod-${name}`).replace(/^unix:\/\//, ''), { force: true });
  const next: LabState = {
    ...state,
    pods: state.pods.filter((p) => p.name !== name),
    components: state.components.filter((c) => c.name !== `pod/${name}`),
  };
  lab.writeState(next);
  return next;
}

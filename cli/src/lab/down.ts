/**
 * `nsm down`: removes everything of a lab: its processes (found by their NSM_LAB marker, so also those
 * of a crashed or killed `nsm up`), its namespaces (found by name prefix) and its state directory.
 * Idempotent.
 */
import { rmSync } from 'node:fs';
import type { Lab } from './lab.js';
import { labPids, stopAll } from './processes.js';
import { deleteNamespaces } from './topology.js';

/** What `down` removed. */
export interface DownResult {
  processes: number;
  namespaces: string[];
}

/** Removes the lab. Pods stop first so that they close their connections while the mesh still runs. */
export async function down(lab: Lab): Promise<DownResult> {
  const state = lab.readState();
  const podPids = new Set(
    (state?.processes ?? []).filter((p) => p.name.startsWith('pod/')).map((p) => p.pid),
  );
  const all = labPids(lab.name);
  await stopAll(all.filter((pid) => podPids.has(pid)));
  await stopAll(labPids(lab.name));
  const namespaces = await deleteNamespaces(lab);
  rmSync(lab.dir, { recursive: true, force: true });
  return { processes: all.length, namespaces };
}

/**
 * `nsm down`: removes everything of a lab: its supervisor and processes (found by their NSM_LAB
 * marker, so also those of a crashed or killed `nsm up`), its namespaces (found by name prefix) and
 * its state directory. Idempotent.
 */
import { rmSync } from 'node:fs';
import type { Lab } from './lab.js';
import { labProcesses, stopAll } from './processes.js';
import { emulatorReports } from './sriov-report.js';
import { shutdownSupervisor } from './supervisor/control.js';
import { deleteNamespaces } from './topology.js';

/** What `down` removed. */
export interface DownResult {
  processes: number;
  namespaces: string[];
  /** Each node's emulated SR-IOV NICs: whether every VF was back in the node (`<node>: <report>`). */
  sriov: string[];
}

/**
 * Removes the lab. The supervisor stops its components first (pods before daemons, so that they
 * close their connections while the mesh still runs) and exits; whatever is left is stopped the
 * same way: supervisor first (so that nothing is restarted), then pods, then the rest.
 */
export async function down(lab: Lab): Promise<DownResult> {
  const before = labProcesses(lab.name);
  if (before.some((p) => p.component === 'supervisor')) await shutdownSupervisor(lab).catch(() => undefined);
  const left = labProcesses(lab.name);
  await stopAll(left.filter((p) => p.component === 'supervisor').map((p) => p.pid));
  await stopAll(left.filter((p) => p.component.startsWith('pod/')).map((p) => p.pid));
  await stopAll(labProcesses(lab.name).map((p) => p.pid));
  const sriov = emulatorReports(lab.logDir);
  const namespaces = await deleteNamespaces(lab);
  rmSync(lab.dir, { recursive: true, force: true });
  return { processes: before.length, namespaces, sriov };
}

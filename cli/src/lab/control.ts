/** `nsm stop` / `nsm start`: stop one component or pod of a running lab, and start it again. */
import type { Lab, LabProcess, LabState } from './lab.js';
import { waitHealthy } from './daemons.js';
import { alive, startInNetns, stopAll } from './processes.js';
import { registerServices } from './up.js';

function find(state: LabState, name: string): { proc: LabProcess; index: number } {
  const index = state.processes.findIndex((p) => p.name === name || p.name === `pod/${name}`);
  const proc = state.processes[index];
  if (!proc) {
    const known = state.processes.map((p) => p.name.replace(/^pod\//, '')).join(', ');
    throw new Error(`no component or pod "${name}" in lab "${state.lab}"; known: ${known}`);
  }
  return { proc, index };
}

/** Stops `name` (SIGTERM, then SIGKILL after 3 s); returns false when it was not running. */
export async function stopProcess(lab: Lab, state: LabState, name: string): Promise<boolean> {
  const { proc } = find(state, name);
  if (!alive(proc.pid)) return false;
  await stopAll([proc.pid]);
  return true;
}

/** Starts `name` again with the command and environment it had; returns false when it was running. */
export async function startProcess(lab: Lab, state: LabState, name: string): Promise<boolean> {
  const { proc, index } = find(state, name);
  if (alive(proc.pid)) return false;
  state.processes[index] = await startInNetns({ ...proc, lab: lab.name });
  lab.writeState(state);
  if (proc.name === 'registry') {
    // The registry keeps records in memory: the manifests' NetworkServices must be registered again
    // (endpoints and forwarders re-register by themselves).
    await waitHealthy(lab.socket('registry'), 'the registry');
    await registerServices(lab, state.services);
  }
  return true;
}

/** `nsm stop` / `nsm start`: stop one component or pod of a running lab on purpose, and start it again. */
import type { Lab } from './lab.js';
import { controlComponent } from './supervisor/control.js';

/** Stops `name` (SIGTERM, then SIGKILL after 5 s); no restart follows. False when it was not running. */
export function stopProcess(lab: Lab, name: string): Promise<boolean> {
  return controlComponent(lab, name, 'stop');
}

/** Starts `name` again with the command and environment it had; false when it was running. */
export function startProcess(lab: Lab, name: string): Promise<boolean> {
  return controlComponent(lab, name, 'start');
}

/**
 * What the lab's supervisor runs and what it reports: one component per daemon or pod, with the
 * restart policy of a Kubernetes container (Always by default) and the state `nsm status` shows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../lab.js';

/** When the supervisor starts a component again after it exited (as a pod's `restartPolicy`). */
export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** What a component is. */
export type ComponentKind = 'registry' | 'manager' | 'forwarder' | 'pod' | 'emulator';

/** How to run one component: a compiled script run by node inside a namespace. */
export interface ComponentSpec {
  /** `registry`, `nsmgr-node-1`, `forwarder-node-1` or `pod/<name>`. */
  readonly name: string;
  readonly kind: ComponentKind;
  readonly node?: string;
  readonly netns: string;
  readonly script: string;
  readonly env: Record<string, string>;
  readonly log: string;
  readonly restart: RestartPolicy;
  /** Its SPIFFE ID: the supervisor keeps its identity files (NSM_IDENTITY_DIR) issued and fresh. */
  readonly identity?: string;
}

/**
 * `running`: its process is alive; `backoff`: it exited and will be started again (a crash loop
 * shows as backoff with restarts growing); `stopped`: stopped on purpose (`nsm stop`); `failed`:
 * exited and its policy does not restart it; `starting`: being spawned.
 */
export type ComponentState = 'starting' | 'running' | 'backoff' | 'stopped' | 'failed';

/** One component as the supervisor reports it. */
export interface ComponentStatus {
  readonly name: string;
  readonly kind: ComponentKind;
  readonly node?: string;
  readonly netns: string;
  readonly restart: RestartPolicy;
  readonly state: ComponentState;
  readonly pid?: number;
  /** Times it was started again after exiting by itself. */
  readonly restarts: number;
  readonly startedAt?: string;
  readonly lastExit?: { readonly code: number | null; readonly signal: string | null; readonly at: string };
  /** In backoff: when it is started again. */
  readonly nextStartAt?: string;
}

/** What the supervisor writes after every change (`supervisor.json` in the lab directory). */
export interface SupervisorReport {
  readonly pid: number;
  readonly updatedAt: string;
  readonly components: ComponentStatus[];
}

/** The supervisor's control socket and report file. */
export const supervisorSocket = (lab: Lab): string => join(lab.dir, 'supervisor.sock');
export const supervisorReportFile = (lab: Lab): string => join(lab.dir, 'supervisor.json');

/** The supervisor's last report, or undefined when it never wrote one. */
export function readSupervisorReport(lab: Lab): SupervisorReport | undefined {
  try {
    return JSON.parse(readFileSync(supervisorReportFile(lab), 'utf8')) as SupervisorReport;
  } catch {
    return undefined;
  }
}

/** The name a user types for a component: pods without the `pod/` prefix. */
export const shortName = (name: string): string => name.replace(/^pod\//, '');

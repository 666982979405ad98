/**
 * The lab's processes as /proc shows them: every one carries NSM_LAB=<lab> (and NSM_LAB_COMPONENT=
 * <component>) in its environment, so that `nsm down` finds them all, also after a crash.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Whether a process is alive (and not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** A process of a lab and the component it runs (`supervisor`, `registry`, `pod/<name>` ...). */
export interface LabPid {
  readonly pid: number;
  readonly component: string;
}

/** Processes whose environment carries NSM_LAB=<lab>. */
export function labProcesses(lab: string): LabPid[] {
  const marker = `NSM_LAB=${lab}`;
  const found: LabPid[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (!env.includes(marker)) continue;
      const component = env.find((v) => v.startsWith('NSM_LAB_COMPONENT='))?.slice(18) ?? '';
      found.push({ pid: Number(entry), component });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Pids of processes whose environment carries NSM_LAB=<lab>. */
export function labPids(lab: string): number[] {
  return labProcesses(lab).map((p) => p.pid);
}

/** Sends `sig`; false when the process is gone already. EPERM (not root) is an error, not "gone". */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw new Error(`cannot send ${sig} to process ${pid}: ${(err as Error).message}`, { cause: err });
  }
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL; resolves when all are gone. */
export async function stopAll(pids: number[], graceMs = 3000): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
  while (pids.some(alive)) await new Promise((r) => setTimeout(r, 20));
}

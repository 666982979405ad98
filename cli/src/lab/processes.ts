/**
 * Lab processes: daemons and pod roles started inside a namespace (`ip netns exec`), detached, with
 * their output in a log file, and NSM_LAB=<lab> in their environment so that strays can be found.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import type { LabProcess } from './lab.js';

/** Starts `script` (a compiled JS file) with node inside `netns`; resolves once it is spawned. */
export function startInNetns(options: {
  name: string;
  netns: string;
  script: string;
  env: Record<string, string>;
  log: string;
  lab: string;
}): Promise<LabProcess> {
  const fd = openSync(options.log, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', options.netns, process.execPath, options.script], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...options.env, NSM_LAB: options.lab },
    });
    return new Promise((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`cannot start ${options.name}: ${err.message}`)));
      child.once('spawn', () => {
        child.unref();
        resolve({
          name: options.name,
          pid: child.pid!,
          netns: options.netns,
          log: options.log,
          script: options.script,
          env: options.env,
        });
      });
    });
  } finally {
    closeSync(fd);
  }
}

/** Whether a process is alive (and not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Pids of processes whose environment carries NSM_LAB=<lab>. */
export function labPids(lab: string): number[] {
  const marker = `NSM_LAB=${lab}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if ((readFileSync(`/proc/${entry}/environ`, 'latin1') + '\0').includes(marker))
        pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL; resolves when all are gone. */
export async function stopAll(pids: number[], graceMs = 3000): Promise<void> {
  const signal = (pid: number, sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
  while (pids.some(alive)) await new Promise((r) => setTimeout(r, 20));
}

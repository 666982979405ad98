/** Starts the built `nsm` command as a child process the test controls (to kill it midway, for example). */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The built entry point of the `nsm` command. */
export const nsmCliPath = join(import.meta.dirname, '..', '..', 'cli', 'dist', 'main.js');

/** A running `nsm --lab <lab> ...args` with its stderr collected so far. */
export interface NsmChild {
  child: ChildProcess;
  stderr: () => string;
  /** Resolves with the exit code, or the signal that ended it. */
  exited: Promise<number | NodeJS.Signals>;
}

/** Spawns `nsm --lab <lab> ...args`. Usage: `const up = spawnNsm(lab, 'up', dir); up.child.kill('SIGKILL')`. */
export function spawnNsm(lab: string, ...args: string[]): NsmChild {
  const child = spawn(process.execPath, [nsmCliPath, '--lab', lab, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(signal ?? code ?? -1));
  });
  return { child, stderr: () => stderr, exited };
}

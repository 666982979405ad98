/** `nsm ui`: serves the live topology page of a running lab until Ctrl-C. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '@nsm-ts/sdk/tools';
import { runningState, UsageError } from '../commands.js';
import { inspect, type LabStatus } from '../lab/inspect.js';
import { Lab } from '../lab/lab.js';
import { requireRoot } from '../lab/system.js';
import { ListenError, startUiServer, type UiServer } from './server.js';
import { Watcher, type Reading } from './watch.js';

/** The options of `nsm ui`, as typed. */
export interface UiFlags {
  port: string;
  host: string;
  interval: string;
}

/** The page's files: compiled scripts and copied HTML and CSS beside this module (dist/ui/page). */
export const PAGE_DIR = join(import.meta.dirname, 'page');

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Checks the options; a UsageError names the option and the value. */
export function uiOptions(flags: UiFlags): { port: number; host: string; intervalMs: number } {
  const port = /^\d+$/.test(flags.port.trim()) ? Number(flags.port) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port ${flags.port}: expected a port from 1 to 65535, or 0 for a free one`);
  const host = flags.host.trim();
  if (host === '' || /[\s/]/.test(host))
    throw new UsageError(`--host ${flags.host}: expected an address or host name`);
  let intervalMs: number;
  try {
    intervalMs = parseDuration(flags.interval);
  } catch (e) {
    throw new UsageError(`--interval ${flags.interval}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (intervalMs < 50 || intervalMs > 60_000)
    throw new UsageError(`--interval ${flags.interval}: expected 50ms to 60s`);
  return { port, host, intervalMs };
}

/** One reading of the lab: its `nsm status --json`, or why there is none. */
export function labReader(lab: Lab): () => Promise<Reading<LabStatus>> {
  return async () => {
    const state = lab.readState();
    if (!state)
      return {
        ok: false,
        error: `lab "${lab.name}" is not running (start it with "nsm${lab.flag} up <manifests>")`,
      };
    return { ok: true, status: await inspect(lab, state) };
  };
}

/** Serves the page on `host:port` until SIGINT or SIGTERM. */
export async function uiCommand(flags: UiFlags & { lab: string }): Promise<number> {
  const { port, host, intervalMs } = uiOptions(flags);
  requireRoot('nsm ui', "it reads the lab's sockets under /run/nsm-lab and the pods' namespaces");
  const lab = new Lab(flags.lab);
  runningState(lab);
  for (const file of ['index.html', 'style.css', 'app.js'])
    if (!existsSync(join(PAGE_DIR, file)))
      throw new Error(`the page's files are not in ${PAGE_DIR} (missing ${file}): run "npm run build"`);
  const watcher = new Watcher(labReader(lab), intervalMs);
  let server: UiServer;
  try {
    server = await startUiServer({ lab: lab.name, watcher, pageDir: PAGE_DIR, host, port });
  } catch (err) {
    watcher.close();
    if (err instanceof ListenError) throw new UsageError(err.message);
    throw err;
  }
  process.stdout.write(`nsm ui: lab "${lab.name}" at ${server.url} (Ctrl-C stops)\n`);
  if (!LOOPBACK.test(host))
    process.stderr.write(
      `nsm ui: warning: --host ${host} serves the lab's status (with the path tokens of every link) beyond this machine; ` +
        'ssh -L to a loopback address is safer (docs/ui.md)\n',
    );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  watcher.close();
  await server.close();
  process.stderr.write('nsm ui: stopped\n');
  return 0;
}

/**
 * Commands the lab runs while setting up and tearing down (never on a connection's request path):
 * `ip` for namespaces and the fabric. Errors name the command and what it printed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Debian package of each tool the lab runs. */
const PACKAGES: Record<string, string> = { ip: 'iproute2', nsenter: 'util-linux', ping: 'iputils-ping' };

/** A command that needs what it cannot have: root, or a tool. `nsm` exits 2 on it. */
export class LabPreconditionError extends Error {
  override readonly name = 'LabPreconditionError';
}

/** Throws LabPreconditionError unless this process runs as root. Usage: `requireRoot('nsm up', 'it creates ...')`. */
export function requireRoot(command: string, why: string): void {
  if (!isRoot()) throw new LabPreconditionError(`${command} needs root: ${why}; run it with sudo or as root`);
}

/** Throws LabPreconditionError naming the package to install when `ip` (iproute2) is missing. */
export async function requireTools(): Promise<void> {
  await sh('ip', ['-V']).catch((err: unknown) => {
    throw new LabPreconditionError(err instanceof Error ? err.message : String(err));
  });
}

/** Runs `cmd args`; rejects with the command line and its stderr. */
export async function sh(cmd: string, args: string[], options: { input?: string } = {}): Promise<string> {
  try {
    const child = run(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
    if (options.input !== undefined) {
      child.child.stdin?.end(options.input);
    }
    const { stdout } = await child;
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string; code?: unknown };
    if (e.code === 'ENOENT') {
      const pkg = PACKAGES[cmd];
      throw new Error(
        `${cmd} is not installed (the lab needs it)${pkg ? `: apt-get install -y ${pkg}` : ''}`,
        { cause: err },
      );
    }
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

/**
 * Runs several `ip` commands in one process (`ip -batch`), inside `netns` when given; `force` goes on
 * past failures (teardown).
 */
export async function ipBatch(
  lines: string[],
  options: { force?: boolean; netns?: string } = {},
): Promise<void> {
  if (lines.length === 0) return;
  const args = [
    ...(options.netns ? ['-n', options.netns] : []),
    ...(options.force ? ['-force'] : []),
    '-batch',
    '-',
  ];
  await sh('ip', args, { input: lines.join('\n') + '\n' });
}

/** Names of the network namespaces in /run/netns. */
export async function listNetns(): Promise<string[]> {
  const out = await sh('ip', ['-j', 'netns', 'list']).catch(() => '[]');
  const list = JSON.parse(out.trim() || '[]') as { name: string }[];
  return list.map((n) => n.name);
}

/** Whether the process runs as root (the lab needs it). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Runs the built `nsm` command as a user would, against a lab of the test's own. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const cli = join(import.meta.dirname, '..', '..', 'cli', 'dist', 'main.js');

/** The result of one `nsm` invocation. */
export interface NsmRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A unique lab name for a test file. */
export function testLabName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Runs `nsm --lab <lab> ...args`. */
export function nsm(lab: string, ...args: string[]): Promise<NsmRun> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does)`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, '--lab', lab, ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `nsm check --json`, parsed. */
export async function checkJson(lab: string): Promise<{
  ok: boolean;
  links: {
    client: string;
    clientInterface: string;
    endpoint: string;
    ok: boolean;
    locality: string;
    forward: boolean;
    reverse: boolean;
    peer: boolean;
    problems: string[];
    notes: string[];
  }[];
}> {
  const run = await nsm(lab, 'check', '--json');
  try {
    return JSON.parse(run.stdout) as Awaited<ReturnType<typeof checkJson>>;
  } catch {
    throw new Error(`nsm check --json printed no JSON (exit ${run.code}): ${run.stderr}`);
  }
}

/** The problems of the links `nsm check` fails ([] when every link passes; the error when it cannot run). */
export async function checkProblems(lab: string): Promise<string[]> {
  try {
    const result = await checkJson(lab);
    return result.ok ? [] : result.links.flatMap((l) => (l.ok ? [] : l.problems));
  } catch (err) {
    return [String(err)];
  }
}

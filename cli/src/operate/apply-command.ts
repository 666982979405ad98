/** `nsm apply -f` and `nsm delete -f`: change a running lab's objects (see lab/apply/apply.ts). */
import { applyObjects } from '../lab/apply/apply.js';
import { Lab } from '../lab/lab.js';
import { ManifestError } from '../manifests/errors.js';
import { parseDuration } from '@nsm-ts/sdk/tools';
import { LabPreconditionError } from '../lab/system.js';

const err = (text: string): void => void process.stderr.write(text);

/** Runs apply or delete -f; exit 0 when every new connection is up, 1 when some are not, 2 on invalid manifests. */
export async function applyCommand(
  mode: 'apply' | 'delete',
  paths: string[],
  opts: { lab: string; timeout?: string },
): Promise<number> {
  const verb = mode === 'apply' ? 'nsm apply' : 'nsm delete';
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(opts.timeout ?? '60s');
  } catch (e) {
    throw new LabPreconditionError(
      `--timeout ${opts.timeout ?? ''}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const lab = new Lab(opts.lab);
  try {
    const result = await applyObjects(lab, {
      paths,
      mode,
      timeoutMs,
      progress: (line) => err(`${verb}: ${line}\n`),
    });
    if (result.changes.length === 0)
      err(`${verb}: nothing changed (${result.unchanged} objects as they were)\n`);
    if (result.pending.length > 0) {
      err(`${verb}: ${result.pending.length} endpoint(s) or connection(s) not ready:\n`);
      for (const p of result.pending)
        err(`  ${p.pod}${p.ifname ? `/${p.ifname}` : ''} (${p.service}): ${p.error ?? 'still pending'}\n`);
      return 1;
    }
    return 0;
  } catch (e) {
    if (e instanceof ManifestError) {
      err(`${verb}: the manifests are not valid; nothing was changed:\n${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

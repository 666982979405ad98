/** What a lab leaves behind: its namespaces, processes and files. Everything must be gone after down. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Namespaces, processes and the state directory of lab `lab` that still exist. */
export function leftovers(lab: string): { namespaces: string[]; processes: number[]; stateDir: boolean } {
  const list = JSON.parse(
    execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }).trim() || '[]',
  ) as { name: string }[];
  const marker = `NSM_LAB=${lab}\0`;
  const processes = readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return (readFileSync(`/proc/${pid}/environ`, 'latin1') + '\0').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
  return {
    namespaces: list.map((n) => n.name).filter((n) => n.startsWith(`nsm-${lab}-`)),
    processes,
    stateDir: existsSync(join(process.env['NSM_LAB_ROOT'] ?? '/run/nsm-lab', lab)),
  };
}

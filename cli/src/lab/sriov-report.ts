/**
 * The last word of a node's emulated SR-IOV NICs: when stopped, the emulator writes to its log
 * whether every VF stand-in was back in the node under its original name; `nsm down` reads those
 * lines before it removes the logs and prints them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How the report line starts. */
export const EMULATOR_REPORT = 'sriov-emulator report: ';

/** The report of each node's emulator in `logDir` (`sriov-<node>.log`), as `<node>: <report>`. */
export function emulatorReports(logDir: string): string[] {
  if (!existsSync(logDir)) return [];
  const reports: string[] = [];
  for (const file of readdirSync(logDir).sort()) {
    const m = /^sriov-(.+)\.log$/.exec(file);
    if (!m) continue;
    const lines = readFileSync(join(logDir, file), 'utf8').split('\n');
    const last = lines.filter((l) => l.startsWith(EMULATOR_REPORT)).at(-1);
    reports.push(
      `${m[1]}: ${last ? last.slice(EMULATOR_REPORT.length) : 'the emulated NICs left no report'}`,
    );
  }
  return reports;
}

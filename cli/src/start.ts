#!/usr/bin/env node
/**
 * The main job (`npm start`): the 4G EPC example on a two-node lab on this machine. It brings the lab
 * up (or reuses the one running), checks every link with traffic, prints the links and leaves the lab
 * running for you to explore. `npm start -- --lab epc2` (or NSM_LAB_NAME) names the lab.
 */
import { fileURLToPath } from 'node:url';
import { check } from './lab/check.js';
import { inspect } from './lab/inspect.js';
import { Lab } from './lab/lab.js';
import { up } from './lab/up.js';
import { checkTable } from './status-view.js';

const example = fileURLToPath(new URL('../../deploy/examples/4g-epc', import.meta.url));
const say = (line: string): void => void process.stderr.write(`${line}\n`);

/** The lab name from `--lab <name>`, `--lab=<name>`, NSM_LAB_NAME, else "default". */
function labName(args: string[]): string {
  const at = args.indexOf('--lab');
  if (at >= 0) {
    const value = args[at + 1];
    if (!value) throw new Error('--lab needs a name, as in "npm start -- --lab epc2"');
    return value;
  }
  return args.find((a) => a.startsWith('--lab='))?.slice(6) ?? process.env['NSM_LAB_NAME'] ?? 'default';
}

async function main(): Promise<number> {
  const lab = new Lab(labName(process.argv.slice(2)));
  const nsm = `node cli/dist/main.js${lab.flag}`;
  if (lab.readState()) {
    say(`lab "${lab.name}" is already up; checking it (run "${nsm} down" first for a fresh one)`);
  } else {
    say(
      `bringing up the 4G EPC example on 2 emulated nodes (deploy/examples/4g-epc) as lab "${lab.name}" ...`,
    );
    const result = await up({
      paths: [example],
      nodes: 2,
      lab: lab.name,
      timeoutMs: 60_000,
      progress: (l) => say(`  ${l}`),
    });
    for (const p of result.pending)
      say(`  not ready: ${p.pod}${p.ifname ? `/${p.ifname}` : ''} (${p.service}): ${p.error ?? 'pending'}`);
  }
  const state = lab.readState()!;
  const results = await check(lab, state, await inspect(lab, state));
  const failed = results.filter((r) => !r.ok);
  process.stdout.write('\n' + checkTable(results) + '\n');
  say(`${results.length - failed.length} of ${results.length} links pass (ping both ways, peer verified).`);
  say('The lab keeps running. Explore it with:');
  say(`  ${nsm} status      # or "nsm${lab.flag} status" after "npm link"`);
  say(`  ${nsm} logs mme`);
  say(`  ${nsm} down        # removes everything`);
  return failed.length === 0 && results.length > 0 ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (err) {
  say(`npm start: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}

#!/usr/bin/env node
/**
 * The main job (`npm start`): the 4G EPC example on a two-node lab on this machine. It brings the lab
 * up (or reuses the one running), checks every link with traffic, prints the links and leaves the lab
 * running for you to explore.
 */
import { fileURLToPath } from 'node:url';
import { checkTable } from './commands.js';
import { check } from './lab/check.js';
import { inspect } from './lab/inspect.js';
import { Lab } from './lab/lab.js';
import { up } from './lab/up.js';

const example = fileURLToPath(new URL('../../../deploy/examples/4g-epc', import.meta.url));
const lab = new Lab(process.env['NSM_LAB_NAME'] ?? 'default');
const say = (line: string): void => void process.stderr.write(`${line}\n`);

try {
  if (lab.readState()) {
    say(`lab "${lab.name}" is already up; checking it (run "nsm down" first for a fresh one)`);
  } else {
    say('bringing up the 4G EPC example on 2 emulated nodes (deploy/examples/4g-epc) ...');
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
  say('  node dist/cli/src/main.js status      # or "nsm status" after "npm link"');
  say('  node dist/cli/src/main.js logs mme');
  say('  node dist/cli/src/main.js down        # removes everything');
  process.exitCode = failed.length === 0 && results.length > 0 ? 0 : 1;
} catch (err) {
  say(`npm start: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}

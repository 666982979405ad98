/**
 * `npm run bench [-- <name>...]`: runs the benchmarks (all, or those named), prints a Markdown table per
 * benchmark and writes bench/results/<name>.json. Names: see `benches` below.
 */
import { controlPlaneBench } from './control-plane.js';
import { controlPlaneLabBench } from './control-plane-lab.js';
import { healBench } from './heal.js';
import { memifBench } from './memif.js';
import { registryFindBench } from './registry-find.js';
import { scaleBench } from './scale.js';
import { securityBench } from './security.js';
import { throughputBench } from './throughput.js';
import { wireSetupBench } from './wire-setup.js';
import { saveResult, toMarkdown, type BenchResult } from './result.js';

const benches: Record<string, () => Promise<BenchResult>> = {
  'control-plane': controlPlaneBench,
  'control-plane-lab': controlPlaneLabBench,
  registry: registryFindBench,
  'wire-setup': wireSetupBench,
  scale: scaleBench,
  throughput: throughputBench,
  heal: healBench,
  security: securityBench,
  memif: memifBench,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}\n`,
  );
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(benches)) {
  process.stderr.write(`running ${name} ...\n`);
  const result = await benches[name]!();
  saveResult(name, result);
  process.stdout.write(toMarkdown(result) + '\n');
}

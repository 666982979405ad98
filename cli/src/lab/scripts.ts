/**
 * The compiled entry points the lab starts as processes: each daemon package's `dist/main.js` and the
 * pods' nsc and nse commands and the supervisor of this package, found through the packages' own directories (so that they
 * are the built files, also when this module runs from source in a test).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const packageDir = (name: string): string => dirname(require.resolve(`${name}/package.json`));
const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const scripts = {
  registry: join(packageDir('@nsm-ts/registry'), 'dist', 'main.js'),
  manager: join(packageDir('@nsm-ts/manager'), 'dist', 'main.js'),
  forwarder: join(packageDir('@nsm-ts/forwarder'), 'dist', 'main.js'),
  /** What client pods run: the `nsc` command. */
  nsc: join(cliDir, 'dist', 'roles', 'nsc.js'),
  /** What endpoint and passthrough pods run: the `nse` command. */
  nse: join(cliDir, 'dist', 'roles', 'nse.js'),
  /** What fabric hosts run: their own containers only. */
  host: join(cliDir, 'dist', 'roles', 'host.js'),
  supervisor: join(cliDir, 'dist', 'lab', 'supervisor', 'main.js'),
  /** A node's emulated SR-IOV NICs. */
  sriovEmulator: join(cliDir, 'dist', 'lab', 'sriov-emulator.js'),
};

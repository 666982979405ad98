/**
 * The compiled entry points the lab starts as processes: each daemon package's `dist/main.js` and the
 * pod role and supervisor of this package, found through the packages' own directories (so that they
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
  pod: join(cliDir, 'dist', 'roles', 'pod.js'),
  supervisor: join(cliDir, 'dist', 'lab', 'supervisor', 'main.js'),
};

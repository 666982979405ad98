// Copies the static files of the nsm ui page (HTML, CSS) beside its compiled scripts in cli/dist/ui/page,
// so that `nsm ui` finds them all in one directory after `npm run build`.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'cli', 'src', 'ui', 'page');
const to = join(root, 'cli', 'dist', 'ui', 'page');
mkdirSync(to, { recursive: true });
for (const name of readdirSync(from).filter((n) => /\.(html|css)$/.test(n)))
  copyFileSync(join(from, name), join(to, name));

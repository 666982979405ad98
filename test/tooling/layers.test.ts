/**
 * The layering rule (`layers/imports`, scripts/eslint-layers.js) rejects what would undo the package
 * boundaries: deep relative imports into another package, imports against the layers, daemons
 * importing each other, anything importing test/, and subpaths a package does not export.
 */
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { layers } from '../../scripts/eslint-layers.js';

const root = join(import.meta.dirname, '..', '..');
const eslint = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      plugins: { layers },
      rules: { 'layers/imports': 'error' },
    },
  ],
});

/** The rule's messages for `code` written in `file` (a path in the repository). */
async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).map((m) => m.message);
}

describe('the layering lint rule', () => {
  it.each([
    [
      'a deep relative import into another package',
      'forwarder/src/mechanisms/x.ts',
      "import { Code } from '../../../sdk/src/core/errors.js';",
      "deep import '../../../sdk/src/core/errors.js' into another package: import it as '@nsm-ts/sdk'",
    ],
    [
      'the SDK importing a daemon',
      'sdk/src/core/x.ts',
      "import { startForwarder } from '@nsm-ts/forwarder';",
      "sdk must not import '@nsm-ts/forwarder'",
    ],
    [
      'a daemon importing another daemon',
      'manager/src/x.ts',
      "export { startRegistry } from '@nsm-ts/registry';",
      "manager must not import '@nsm-ts/registry'",
    ],
    [
      'proto importing the SDK',
      'proto/src/x.ts',
      "const m = await import('@nsm-ts/sdk');",
      "proto must not import '@nsm-ts/sdk'",
    ],
    [
      'the CLI importing the test suites',
      'cli/src/lab/x.ts',
      "import { nsm } from '../../../test/harness/nsm-cli.js';",
      'imports test/: nothing outside test/ may depend on the test suites',
    ],
    [
      'a subpath the package does not export',
      'cli/src/x.ts',
      "import { begin } from '@nsm-ts/sdk/src/networkservice/common/begin/begin.js';",
      "'@nsm-ts/sdk/src/networkservice/common/begin/begin.js' is not exported by @nsm-ts/sdk",
    ],
    [
      'a package importing itself by name',
      'sdk/src/core/x.ts',
      "import { Code } from '@nsm-ts/sdk/core';",
      'imports this package by its own name',
    ],
  ])('rejects %s', async (_what, file, code, message) => {
    const found = await problems(file, code);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('accepts imports along the layers, by exported name, and relative ones inside a package', async () => {
    expect(
      await problems(
        'cli/src/x.ts',
        [
          "import { Code } from '@nsm-ts/sdk/core';",
          "import { pingInNamespace } from '@nsm-ts/forwarder/liveness';",
          "import type { Connection } from '@nsm-ts/proto/gen/connection/Connection.js';",
          "import { table } from './format.js';",
        ].join('\n'),
      ),
    ).toEqual([]);
    expect(
      await problems('test/e2e/x.ts', "import { startPinger } from '../../bench/src/ns/pinger.js';"),
    ).toEqual([]);
  });
});

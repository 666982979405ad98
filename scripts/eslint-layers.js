// The layering of the packages as an ESLint rule (`layers/imports`), used by eslint.config.js.
//
// A package is imported by its name and an exported subpath (`@nsm-ts/sdk/core`), never by a
// relative path into another top-level folder; and only along the layers:
//   cli → registry, manager, forwarder → sdk → proto
// Daemons never import each other. bench/ and test/ may import every package; test/ may use
// bench/'s tooling; nothing imports test/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCOPE = '@nsm-ts/';

/** What each top-level folder may import by package name. */
export const LAYERS = {
  proto: [],
  sdk: ['proto'],
  registry: ['sdk', 'proto'],
  manager: ['sdk', 'proto'],
  forwarder: ['sdk', 'proto'],
  cli: ['registry', 'manager', 'forwarder', 'sdk', 'proto'],
  bench: ['cli', 'registry', 'manager', 'forwarder', 'sdk', 'proto'],
  test: ['cli', 'registry', 'manager', 'forwarder', 'sdk', 'proto'],
};

const exportsCache = new Map();

/** The subpath patterns a package exports (`.`, `./core`, `./gen/*.js` ...). */
function exportedSubpaths(pkg) {
  if (!exportsCache.has(pkg)) {
    const file = join(ROOT, pkg, 'package.json');
    const exports = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')).exports ?? {}) : {};
    exportsCache.set(pkg, Object.keys(exports));
  }
  return exportsCache.get(pkg);
}

function isExported(pkg, subpath) {
  return exportedSubpaths(pkg).some((pattern) => {
    const star = pattern.indexOf('*');
    if (star < 0) return pattern === subpath;
    return subpath.startsWith(pattern.slice(0, star)) && subpath.endsWith(pattern.slice(star + 1));
  });
}

/** The top-level folder of a path inside the repository, or undefined outside it. */
function topOf(path) {
  const rel = relative(ROOT, path);
  if (rel.startsWith('..') || rel === '') return undefined;
  return rel.split(sep)[0];
}

function check(context, node, spec) {
  if (typeof spec !== 'string') return;
  const file = context.filename;
  const from = topOf(file);
  if (!from || !(from in LAYERS)) return;
  if (spec.startsWith('.')) {
    const to = topOf(resolve(dirname(file), spec));
    if (!to || to === from) return;
    // The suites may use the benchmarks' tooling and the repository's scripts; nothing else crosses.
    const tooling =
      (from === 'test' && to === 'bench') || ((from === 'test' || from === 'bench') && to === 'scripts');
    if (to === 'test') context.report({ node, messageId: 'test', data: { spec } });
    else if (!tooling) context.report({ node, messageId: 'deep', data: { spec, pkg: `${SCOPE}${to}` } });
    return;
  }
  if (!spec.startsWith(SCOPE)) return;
  const [pkg = '', ...rest] = spec.slice(SCOPE.length).split('/');
  if (pkg === from) {
    context.report({ node, messageId: 'self', data: { spec } });
  } else if (!LAYERS[from].includes(pkg)) {
    context.report({ node, messageId: 'layer', data: { spec, from } });
  } else if (!isExported(pkg, rest.length ? `./${rest.join('/')}` : '.')) {
    context.report({ node, messageId: 'unexported', data: { spec, pkg: `${SCOPE}${pkg}` } });
  }
}

const importsRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports by package name only, along the layers cli → daemons → sdk → proto' },
    schema: [],
    messages: {
      deep: "deep import '{{spec}}' into another package: import it as '{{pkg}}' or one of its exported subpaths",
      test: "'{{spec}}' imports test/: nothing outside test/ may depend on the test suites",
      self: "'{{spec}}' imports this package by its own name: use a relative path inside a package",
      layer:
        "{{from}} must not import '{{spec}}': the layers are cli → registry, manager, forwarder → sdk → proto, and daemons never import each other",
      unexported:
        "'{{spec}}' is not exported by {{pkg}}: use one of the subpaths in its package.json exports",
    },
  },
  create(context) {
    const source = (node) => check(context, node, node.source?.value);
    return {
      ImportDeclaration: source,
      ExportAllDeclaration: source,
      ExportNamedDeclaration: (node) => node.source && source(node),
      ImportExpression: (node) => node.source.type === 'Literal' && check(context, node, node.source.value),
    };
  },
};

/** The plugin: `plugins: { layers }`, `rules: { 'layers/imports': 'error' }`. */
export const layers = { rules: { imports: importsRule } };

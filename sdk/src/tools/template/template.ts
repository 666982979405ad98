/**
 * Selector templates: the small part of Go's text/template that NetworkService selectors use, evaluated
 * over the connection labels. `{{.nodeName}}`, `{{ .podName }}`, `{{index . "podName"}}` and quoted
 * literals `{{"text"}}` are understood, with Go's `{{-`/`-}}` whitespace trimming; text around actions
 * is kept. Anything else is a malformed template.
 */
import { invalidArgument } from '../../core/errors.js';

/** One piece of a compiled template: literal text or the name of a label to substitute. */
type Part = { text: string } | { label: string };

/** A compiled template. */
export interface Template {
  readonly source: string;
  /**
   * The template evaluated over `vars`; `undefined` when it refers to a label `vars` lacks, so that
   * a selector entry built from it never matches.
   */
  evaluate(vars: Readonly<Record<string, string>>): string | undefined;
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
const quoted = /^"((?:[^"\\]|\\.)*)"$|^`([^`]*)`$/;

function unquote(token: string): string | undefined {
  const m = quoted.exec(token);
  if (!m) return undefined;
  if (m[2] !== undefined) return m[2];
  try {
    return JSON.parse(`"${m[1] ?? ''}"`) as string;
  } catch {
    return undefined;
  }
}

/** Parses the inside of one `{{ }}` action into a part, or throws naming the template. */
function parseAction(action: string, source: string): Part {
  const bad = (why: string): Error => invalidArgument(`bad selector template "${source}": ${why}`);
  if (action === '') throw bad('empty action {{}}');
  if (action.startsWith('.')) {
    const name = action.slice(1);
    if (!identifier.test(name)) throw bad(`"{{${action}}}" must name one label, like {{.nodeName}}`);
    return { label: name };
  }
  const literal = unquote(action);
  if (literal !== undefined) return { text: literal };
  const words = action.split(/\s+/);
  if (words[0] !== 'index') throw bad(`unknown function "${words[0] ?? ''}" (only index is supported)`);
  const key = words.length === 3 && words[1] === '.' ? unquote(words[2] ?? '') : undefined;
  if (key === undefined) throw bad(`"{{${action}}}" must be {{index . "label"}}`);
  return { label: key };
}

/** The index of the `}}` closing an action that starts at `from`, skipping quoted strings; -1 if none. */
function findClose(text: string, from: number): number {
  let quote = '';
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === '`') quote = c;
    else if (c === '}' && text[i + 1] === '}') return i;
  }
  return -1;
}

/** Splits `source` into text and actions. */
function parse(source: string): Part[] {
  const parts: Part[] = [];
  let rest = source;
  let trimNext = false;
  for (;;) {
    const open = rest.indexOf('{{');
    let text = open < 0 ? rest : rest.slice(0, open);
    if (text.includes('}}')) throw invalidArgument(`bad selector template "${source}": "}}" without "{{"`);
    if (trimNext) text = text.trimStart();
    if (open < 0) {
      if (text) parts.push({ text });
      return parts;
    }
    const close = findClose(rest, open + 2);
    if (close < 0) throw invalidArgument(`bad selector template "${source}": "{{" without "}}"`);
    let action = rest.slice(open + 2, close);
    if (/^-\s/.test(action)) {
      text = text.trimEnd();
      action = action.slice(1);
    }
    trimNext = /\s-$/.test(action);
    if (trimNext) action = action.slice(0, -1);
    if (action.includes('{{') && unquote(action.trim()) === undefined) {
      throw invalidArgument(`bad selector template "${source}": nested "{{"`);
    }
    if (text) parts.push({ text });
    parts.push(parseAction(action.trim(), source));
    rest = rest.slice(close + 2);
  }
}

function compileUncached(source: string): Template {
  if (!source.includes('{{') && !source.includes('}}')) return { source, evaluate: () => source };
  const parts = parse(source);
  return {
    source,
    evaluate(vars) {
      let out = '';
      for (const part of parts) {
        if ('text' in part) out += part.text;
        else if (Object.hasOwn(vars, part.label)) out += vars[part.label];
        else return undefined;
      }
      return out;
    },
  };
}

// Selectors are few and evaluated on every request: compile each once. Bounded against hostile input.
const cache = new Map<string, Template>();
const cacheLimit = 1024;

/**
 * Compiles a selector template; throws an INVALID_ARGUMENT NsmError naming it when malformed.
 * Usage: `compileTemplate('{{.nodeName}}').evaluate(conn.labels)`.
 */
export function compileTemplate(source: string): Template {
  let template = cache.get(source);
  if (!template) {
    template = compileUncached(source);
    if (cache.size >= cacheLimit) cache.clear();
    cache.set(source, template);
  }
  return template;
}

/**
 * Evaluates a selector template over `vars`: `undefined` when a label it names is missing.
 * Usage: `evaluateTemplate('prefix-{{.podName}}', { podName: 'nsc-1' }) // 'prefix-nsc-1'`.
 */
export function evaluateTemplate(source: string, vars: Readonly<Record<string, string>>): string | undefined {
  return compileTemplate(source).evaluate(vars);
}

import { describe, expect, it } from 'vitest';
import { Code, NsmError } from '../../core/errors.js';
import { formatSelector, matchesSelector } from './selector.js';
import { evaluateTemplate } from './template.js';

const vars = { nodeName: 'node-1', podName: 'nsc-7', app: 'web' };

function thrown(fn: () => unknown): NsmError {
  try {
    fn();
  } catch (err) {
    if (err instanceof NsmError) return err;
    throw err;
  }
  throw new Error('expected an NsmError');
}

describe('evaluateTemplate', () => {
  it.each([
    ['plain', 'plain'],
    ['{{.nodeName}}', 'node-1'],
    ['{{ .podName }}', 'nsc-7'],
    ['{{index . "podName"}}', 'nsc-7'],
    ['{{ index  .  `app` }}', 'web'],
    ['prefix-{{.nodeName}}-suffix', 'prefix-node-1-suffix'],
    ['{{.app}}/{{.podName}}', 'web/nsc-7'],
    ['a {{- .app -}} b', 'awebb'],
    ['{{"{{"}}literal', '{{literal'],
    ['', ''],
  ])('%s → %s', (template, expected) => {
    expect(evaluateTemplate(template, vars)).toBe(expected);
  });

  it('is undefined when a variable is missing, so the selector entry never matches', () => {
    expect(evaluateTemplate('{{.zone}}', vars)).toBeUndefined();
    expect(evaluateTemplate('x-{{index . "zone"}}', vars)).toBeUndefined();
    expect(evaluateTemplate('{{.nodeName}}', {})).toBeUndefined();
  });

  it('does not read inherited properties as labels', () => {
    expect(evaluateTemplate('{{.constructor}}', vars)).toBeUndefined();
    expect(evaluateTemplate('{{.toString}}', {})).toBeUndefined();
  });

  it.each([
    ['{{.nodeName', '"{{" without "}}"'],
    ['x}}', '"}}" without "{{"'],
    ['{{.a}} }}', '"}}" without "{{"'],
    ['{{printf "%s" .a}}', 'unknown function "printf"'],
    ['{{len .}}', 'unknown function "len"'],
    ['{{}}', 'empty action'],
    ['{{.}}', 'must name one label'],
    ['{{.a.b}}', 'must name one label'],
    ['{{index . podName}}', 'must be {{index . "label"}}'],
    ['{{index .}}', 'must be {{index . "label"}}'],
    ['{{ {{.a}} }}', 'nested'],
  ])('rejects %s with INVALID_ARGUMENT naming the template', (template, why) => {
    const err = thrown(() => evaluateTemplate(template, vars));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain(`"${template}"`);
    expect(err.message).toContain(why);
  });
});

describe('matchesSelector', () => {
  const labels = { app: 'mme', nodeName: 'node-1' };

  it('matches subsets, literally and through templates', () => {
    expect(matchesSelector(labels, {}, vars)).toBe(true);
    expect(matchesSelector(labels, { app: 'mme' }, vars)).toBe(true);
    expect(matchesSelector(labels, { app: 'mme', nodeName: '{{.nodeName}}' }, vars)).toBe(true);
    expect(matchesSelector(labels, { app: 'mme', nodeName: '{{.nodeName}}' }, { nodeName: 'node-2' })).toBe(
      false,
    );
    expect(matchesSelector(labels, { app: 'sgw' }, vars)).toBe(false);
  });

  it('never matches a missing key or a missing template variable', () => {
    expect(matchesSelector(labels, { zone: '' }, vars)).toBe(false);
    expect(matchesSelector(labels, { nodeName: '{{.nodeName}}' }, {})).toBe(false);
  });

  it('rejects a malformed template even when another entry already fails', () => {
    expect(() => matchesSelector(labels, { app: 'other', nodeName: '{{.nodeName' }, vars)).toThrow(
      /nodeName/,
    );
  });

  it('formats selectors deterministically', () => {
    expect(formatSelector({ b: '2', a: '1' })).toBe('a=1, b=2');
    expect(formatSelector({})).toBe('*');
  });
});

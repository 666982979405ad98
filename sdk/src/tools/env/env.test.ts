import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvReader, podNamespace } from './env.js';

const dir = mkdtempSync(join(tmpdir(), 'nsm-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('podNamespace', () => {
  it("reads the service account's namespace file, and is undefined outside a pod", () => {
    writeFileSync(join(dir, 'namespace'), 'epc\n');
    expect(podNamespace(join(dir, 'namespace'))).toBe('epc');
    writeFileSync(join(dir, 'empty'), '  \n');
    expect(podNamespace(join(dir, 'empty'))).toBeUndefined();
    expect(podNamespace(join(dir, 'absent'))).toBeUndefined();
  });
});

describe('EnvReader', () => {
  it('names the variable, the value and what was expected', () => {
    const r = new EnvReader({ PORT: 'x', ON: 'maybe', WAIT: 'soon' });
    expect(r.integer('PORT', 1, 1, 9)).toBe(1);
    expect(r.boolean('ON', false)).toBe(false);
    r.duration('WAIT', '1s');
    expect(r.errors).toEqual([
      'PORT="x": expected an integer from 1 to 9',
      'ON="maybe": expected true or false',
      expect.stringMatching(/^WAIT="soon": /),
    ]);
  });
});

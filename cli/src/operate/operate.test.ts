import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withApplyLock } from '../lab/apply/applied.js';
import { formatLogLine } from './logs.js';
import { netemArgs, qdiscFor } from './netem.js';

describe('nsm logs formatting', () => {
  it('prints a pino line as time, level, who, message and the other fields', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 11, 1, 20, 15, 1, 234),
      pid: 7,
      name: 'forwarder-node-1',
      msg: 'giving the VF back failed',
      vf: '0000:01:00.4',
      err: 'EEXIST: name taken',
      n: 3,
      obj: { a: 1 },
    });
    expect(formatLogLine(line, 'forwarder-node-1')).toEqual({
      time: Date.UTC(2026, 11, 1, 20, 15, 1, 234),
      text: '20:15:01.234 WARN  forwarder-node-1     giving the VF back failed vf=0000:01:00.4 err="EEXIST: name taken" n=3 obj={"a":1}',
    });
  });

  it('keeps a line that is not JSON, and one that is JSON but not an object, as written', () => {
    expect(formatLogLine('emulated 1 PF(s)', 'sriov-node-1', 5)).toEqual({
      time: 5,
      text: `${' '.repeat(18)}sriov-node-1         emulated 1 PF(s)`,
    });
    expect(formatLogLine('{not json', 'x').text).toContain('{not json');
  });
});

describe('nsm netem arguments', () => {
  it('takes delay with jitter, loss and rate together', () => {
    expect(netemArgs(['delay', '100ms', '10ms', 'loss', '5%', 'rate', '10mbit'])).toEqual([
      'delay',
      '100ms',
      '10ms',
      'loss',
      '5%',
      'rate',
      '10mbit',
    ]);
  });

  it('uses tbf for a rate alone, netem otherwise', () => {
    expect(qdiscFor(['rate', '1mbit'])).toEqual([
      'tbf',
      'rate',
      '1mbit',
      'burst',
      '32kbit',
      'latency',
      '400ms',
    ]);
    expect(qdiscFor(['delay', '5ms', 'rate', '1mbit'])).toEqual(['netem', 'delay', '5ms', 'rate', '1mbit']);
  });

  it.each([
    [[], 'no impairment; expected delay'],
    [['delay'], '"delay" needs a value'],
    [['delay', 'soon'], 'delay "soon" is not a time'],
    [['loss', '150%'], 'loss "150%" is not a percentage'],
    [['rate', 'fast'], 'rate "fast" is not a rate'],
    [['jitter', '1ms'], '"jitter" is not an impairment'],
  ])('refuses %j, naming what was wrong', (words, message) => {
    expect(() => netemArgs(words)).toThrow(message);
  });
});

describe('the apply lock of a lab', () => {
  it('refuses a second change while one holds it, and takes over a lock whose process is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsm-lock-'));
    try {
      const lab = { name: 'l', dir } as unknown as Parameters<typeof withApplyLock>[0];
      const inner = await withApplyLock(lab, () =>
        withApplyLock(lab, () => Promise.resolve('nested')).catch((e: Error) => e.message),
      );
      expect(inner).toContain(`is being changed by another nsm apply or delete -f (process ${process.pid})`);
      expect(existsSync(join(dir, 'apply.lock'))).toBe(false);
      writeFileSync(join(dir, 'apply.lock'), '999999999');
      expect(await withApplyLock(lab, () => Promise.resolve('taken over'))).toBe('taken over');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

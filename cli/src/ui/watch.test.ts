import { afterEach, describe, expect, it } from 'vitest';
import { changed, Watcher, type Reading, type Snapshot } from './watch.js';

/** A lab reader whose answers the test sets, counting reads and whether two overlapped. */
function scripted(first: Reading<{ n: number }>, delayMs = 5) {
  const r = { value: first, reads: 0, active: 0, overlapped: false };
  const read = async (): Promise<Reading<{ n: number }>> => {
    r.reads++;
    r.active++;
    if (r.active > 1) r.overlapped = true;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    r.active--;
    if (r.value.ok === false && r.value.error === 'throw') throw new Error('socket closed');
    return r.value;
  };
  return { r, read };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `cond` holds (at most 3 s: the machine may be busy). */
async function until(cond: () => boolean): Promise<void> {
  for (const end = Date.now() + 3000; !cond(); await sleep(5))
    if (Date.now() > end) throw new Error('condition not met in 3 s');
}

describe('Watcher', () => {
  const watchers: Watcher<{ n: number }>[] = [];
  afterEach(() => {
    for (const w of watchers.splice(0)) w.close();
  });
  const watch = (read: () => Promise<Reading<{ n: number }>>, ms: number): Watcher<{ n: number }> => {
    const w = new Watcher(read, ms);
    watchers.push(w);
    return w;
  };

  it('compares readings by their JSON', () => {
    expect(changed(undefined, { ok: true, status: { n: 1 } })).toBe(true);
    expect(changed({ ok: true, status: { n: 1 } }, { ok: true, status: { n: 1 } })).toBe(false);
    expect(changed({ ok: true, status: { n: 1 } }, { ok: true, status: { n: 2 } })).toBe(true);
    expect(changed({ ok: true, status: { n: 1 } }, { ok: false, error: 'down' })).toBe(true);
  });

  it('hands out a snapshot only when the reading changed, numbered one by one', async () => {
    const { r, read } = scripted({ ok: true, status: { n: 1 } });
    const w = watch(read, 20);
    const got: Snapshot<{ n: number }>[] = [];
    w.subscribe((s) => got.push(s));
    await sleep(150);
    const readsWhileSame = r.reads;
    expect(readsWhileSame).toBeGreaterThanOrEqual(4);
    expect(got.map((s) => s.seq)).toEqual([1]);
    r.value = { ok: true, status: { n: 2 } };
    await until(() => got.length === 2);
    r.value = { ok: false, error: 'lab "x" is not running' };
    await until(() => got.length === 3);
    r.value = { ok: true, status: { n: 2 } };
    await until(() => got.length === 4);
    const reads = r.reads;
    await until(() => r.reads >= reads + 3);
    expect(got.map((s) => [s.seq, s.ok ? s.status.n : s.error])).toEqual([
      [1, 1],
      [2, 2],
      [3, 'lab "x" is not running'],
      [4, 2],
    ]);
    expect(r.overlapped).toBe(false);
  });

  it('gives a new subscriber the newest snapshot at once', async () => {
    const { read } = scripted({ ok: true, status: { n: 5 } });
    const w = watch(read, 20);
    w.subscribe(() => undefined);
    await sleep(40);
    const got: number[] = [];
    w.subscribe((s) => got.push(s.seq));
    expect(got).toEqual([1]);
  });

  it('never reads two at once, also when a read takes longer than the interval', async () => {
    const { r, read } = scripted({ ok: true, status: { n: 1 } }, 30);
    const w = watch(read, 5);
    w.subscribe(() => undefined);
    w.subscribe(() => undefined);
    await sleep(200);
    expect(r.overlapped).toBe(false);
    expect(r.reads).toBeGreaterThanOrEqual(4);
  });

  it('reads only while somebody watches', async () => {
    const { r, read } = scripted({ ok: true, status: { n: 1 } });
    const w = watch(read, 10);
    await sleep(50);
    expect(r.reads).toBe(0);
    const stop = w.subscribe(() => undefined);
    await sleep(60);
    stop();
    await sleep(30);
    const after = r.reads;
    await sleep(60);
    expect(r.reads).toBe(after);
  });

  it('next() resolves with a read that started after the call, also when nothing changed', async () => {
    const { r, read } = scripted({ ok: true, status: { n: 1 } }, 20);
    const w = watch(read, 1000);
    const first = await w.next();
    expect(first).toMatchObject({ ok: true, seq: 1, status: { n: 1 } });
    const readsBefore = r.reads;
    const second = await w.next();
    expect(r.reads).toBe(readsBefore + 1);
    expect(second.seq).toBe(1);
  });

  it('turns a read that throws into a reading that is not ok, with the message', async () => {
    const { read } = scripted({ ok: false, error: 'throw' });
    const w = watch(read, 10);
    await expect(w.next()).resolves.toMatchObject({ ok: false, error: 'socket closed' });
  });

  it('rejects waiting and new subscribers once closed', async () => {
    const { read } = scripted({ ok: true, status: { n: 1 } }, 50);
    const w = watch(read, 10);
    const pending = w.next();
    w.close();
    await expect(pending).rejects.toThrow(/closed/);
    expect(() => w.subscribe(() => undefined)).toThrow(/closed/);
  });
});

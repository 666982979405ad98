import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../commands.js';
import { PAGE_DIR, uiOptions } from './command.js';
import { hostName, ListenError, startUiServer, type UiServer } from './server.js';
import { parseSse, type SseEvent } from './sse.js';
import { Watcher, type Reading } from './watch.js';

type Status = { lab: string; n: number };

/** The lab as the test sets it: what the next reads answer. */
const lab = { reading: { ok: true, status: { lab: 't', n: 1 } } as Reading<Status>, reads: 0 };
const read = (): Promise<Reading<Status>> => {
  lab.reads++;
  return Promise.resolve(lab.reading);
};

let pageDir: string;
let server: UiServer;
let watcher: Watcher<Status>;

beforeAll(async () => {
  pageDir = mkdtempSync(join(tmpdir(), 'nsm-ui-page-'));
  writeFileSync(join(pageDir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(pageDir, 'app.js'), 'export {};');
  writeFileSync(join(pageDir, 'app.d.ts'), 'export {};');
  watcher = new Watcher(read, 20);
  server = await startUiServer({ lab: 't', watcher, pageDir, host: '127.0.0.1', port: 0, heartbeatMs: 100 });
});
afterAll(async () => {
  watcher.close();
  await server.close();
  rmSync(pageDir, { recursive: true, force: true });
});
afterEach(() => {
  lab.reading = { ok: true, status: { lab: 't', n: 1 } };
});

/** Reads events from /events of `at` until `enough` says stop (at most 5 s). */
async function events(at: UiServer, enough: (got: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 5000);
  const res = await fetch(`${at.url}events`, { signal: abort.signal });
  expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const got: SseEvent[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body!) {
      const parsed = parseSse(buffer + decoder.decode(chunk, { stream: true }));
      buffer = parsed.rest;
      got.push(...parsed.events);
      if (enough(got)) break;
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return got;
}

describe('nsm ui server', () => {
  it('serves the page and its files, nothing else', async () => {
    const index = await fetch(server.url);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await index.text()).toContain('<title>t</title>');
    const js = await fetch(`${server.url}app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    for (const path of ['app.d.ts', 'nope.js', '..%2Fetc%2Fpasswd', 'sub/app.js', 'style.css'])
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
  });

  it('refuses a request for another host name (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const code = await new Promise<number>((resolve, reject) => {
      request(server.url, { headers: { host: `evil.example:${server.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(code).toBe(403);
    expect(hostName('localhost:7070')).toBe('localhost');
    expect(hostName('[::1]:7070')).toBe('[::1]');
    expect(hostName('127.0.0.1')).toBe('127.0.0.1');
  });

  it('/api/status gives a fresh snapshot: 200 with the status, 503 when the lab is not up', async () => {
    lab.reading = { ok: true, status: { lab: 't', n: 42 } };
    const up = await fetch(`${server.url}api/status`);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ lab: 't', n: 42 });
    lab.reading = { ok: false, error: 'lab "t" is not running' };
    const down = await fetch(`${server.url}api/status`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ lab: 't', error: 'lab "t" is not running' });
  });

  it('/events streams a status event, a new one only on change, down while the lab is away, and heartbeats', async () => {
    lab.reading = { ok: true, status: { lab: 't', n: 1 } };
    // A server of its own, so that the first snapshot is this test's.
    const w = new Watcher(read, 20);
    const own = await startUiServer({
      lab: 't',
      watcher: w,
      pageDir,
      host: '127.0.0.1',
      port: 0,
      heartbeatMs: 100,
    });
    let phase = 0;
    const got = await events(own, (evs) => {
      const statuses = evs.filter((e) => e.event !== 'heartbeat');
      if (phase === 0 && statuses.length >= 1) {
        phase = 1;
        // The same reading for a while: heartbeats come, no new status.
        setTimeout(() => {
          lab.reading = { ok: false, error: 'lab "t" is not running' };
          phase = 2;
        }, 250);
      }
      if (phase === 2 && statuses.some((e) => e.event === 'down')) {
        phase = 3;
        lab.reading = { ok: true, status: { lab: 't', n: 2 } };
      }
      return statuses.length >= 3 && evs.some((e) => e.event === 'heartbeat');
    }).finally(async () => {
      w.close();
      await own.close();
    });
    const statuses = got.filter((e) => e.event !== 'heartbeat');
    expect(statuses.map((e) => [e.event, JSON.parse(e.data) as unknown])).toEqual([
      ['status', { lab: 't', n: 1 }],
      ['down', { lab: 't', error: 'lab "t" is not running' }],
      ['status', { lab: 't', n: 2 }],
    ]);
    const ids = statuses.map((e) => Number(e.id));
    expect(ids[1]).toBe(ids[0]! + 1);
    expect(ids[2]).toBe(ids[0]! + 2);
    const beat = JSON.parse(got.find((e) => e.event === 'heartbeat')!.data) as { at: string; seq: number };
    expect(Number.isNaN(Date.parse(beat.at))).toBe(false);
  });

  it('names --port and its value when the port is in use', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const w = new Watcher(read, 20);
      await expect(startUiServer({ lab: 't', watcher: w, pageDir, host: '127.0.0.1', port })).rejects.toThrow(
        new ListenError(
          `--port ${port}: 127.0.0.1:${port} is already in use; choose another port, or --port 0 for a free one`,
        ),
      );
      w.close();
    } finally {
      busy.close();
    }
  });

  it('names --host when the address cannot be listened on', async () => {
    const w = new Watcher(read, 20);
    await expect(
      startUiServer({ lab: 't', watcher: w, pageDir, host: '192.0.2.1', port: 0 }),
    ).rejects.toThrow(/^--host 192\.0\.2\.1: cannot listen on 192\.0\.2\.1:0: EADDRNOTAVAIL$/);
    w.close();
  });
});

describe('nsm ui options', () => {
  const flags = { port: '7070', host: '127.0.0.1', interval: '250ms' };

  it('takes a port from 0 to 65535, a host and an interval', () => {
    expect(uiOptions(flags)).toEqual({ port: 7070, host: '127.0.0.1', intervalMs: 250 });
    expect(uiOptions({ ...flags, port: '0', interval: '1s' })).toEqual({
      port: 0,
      host: '127.0.0.1',
      intervalMs: 1000,
    });
  });

  it.each(['abc', '70000', '-1', '', '80.5', '0x50'])('refuses --port %j, naming it', (port) => {
    expect(() => uiOptions({ ...flags, port })).toThrow(
      new UsageError(`--port ${port}: expected a port from 1 to 65535, or 0 for a free one`),
    );
  });

  it('refuses a bad --host and --interval, naming them', () => {
    expect(() => uiOptions({ ...flags, host: 'a b' })).toThrow(
      /^--host a b: expected an address or host name$/,
    );
    expect(() => uiOptions({ ...flags, interval: 'soon' })).toThrow(/^--interval soon: /);
    expect(() => uiOptions({ ...flags, interval: '10ms' })).toThrow(
      /^--interval 10ms: expected 50ms to 60s$/,
    );
  });

  it('finds the page beside the module (the build copies HTML and CSS next to the compiled scripts)', () => {
    expect(PAGE_DIR).toMatch(/cli[/\\](src|dist)[/\\]ui[/\\]page$/);
  });
});

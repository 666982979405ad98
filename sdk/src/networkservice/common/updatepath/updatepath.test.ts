import { describe, expect, it } from 'vitest';
import { newConnection, newRequest } from '../../../api/builders.js';
import type { Connection, PathSegment } from '../../../api/types.js';
import { element, toHandler, type NetworkServiceElement } from '../../../core/chain.js';
import { createContext } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { updatePath } from './updatepath.js';

interface Seen {
  hop: string;
  phase: 'request' | 'answer' | 'close';
  id: string;
  index: number;
}

/** A test double placed right after a hop's updatePath: records what that hop sees. */
function observe(hop: string, seen: Seen[]): NetworkServiceElement {
  const note = (phase: Seen['phase'], conn: Connection): void => {
    seen.push({ hop, phase, id: conn.id, index: conn.path?.index ?? -1 });
  };
  return {
    async request(ctx, req, next) {
      note('request', req.connection ?? newConnection());
      const conn = await next.request(ctx, req);
      note('answer', conn);
      return conn;
    },
    async close(ctx, conn, next) {
      note('close', conn);
      await next.close(ctx, conn);
    },
  };
}

/** One in-process chain simulating `names.length` hops (NSC → manager → forwarder → NSE ...). */
function hops(names: string[], seen: Seen[]) {
  return toHandler(names.flatMap((name) => [updatePath(name), observe(name, seen)]));
}

const segment = (name: string, id: string): PathSegment => ({
  name,
  id,
  token: '',
  expires: null,
  metrics: {},
});
const pathOf = (index: number, ...segments: PathSegment[]) => ({ index, path_segments: segments });
const names = ['nsc', 'nsmgr-a', 'forwarder-a', 'nsmgr-b', 'forwarder-b', 'nse'];
const ctx = createContext();

describe('updatePath', () => {
  it.each([1, 2, 3, 4, 5, 6])('builds a path of %i hop(s), each with its own id and index', async (count) => {
    const seen: Seen[] = [];
    const conn = await hops(names.slice(0, count), seen).request(ctx, newRequest());
    const segments = conn.path?.path_segments ?? [];
    expect(segments.map((s) => s.name)).toEqual(names.slice(0, count));
    expect(new Set(segments.map((s) => s.id)).size).toBe(count);
    expect(conn.path?.index).toBe(0);
    expect(conn.id).toBe(segments[0]?.id);
    for (const [index, name] of names.slice(0, count).entries()) {
      const mine = seen.filter((s) => s.hop === name);
      // Each hop sees its own view on the way in and again on the way back (the next hop restored it).
      expect(mine).toEqual([
        { hop: name, phase: 'request', id: segments[index]?.id, index },
        { hop: name, phase: 'answer', id: segments[index]?.id, index },
      ]);
    }
  });

  it('keeps every id on a refresh with the returned connection', async () => {
    const seen: Seen[] = [];
    const handler = hops(names.slice(0, 4), seen);
    const first = await handler.request(ctx, newRequest());
    const again = await handler.request(ctx, { connection: first, mechanism_preferences: [] });
    expect(again.path).toEqual(first.path);
    expect(again.id).toBe(first.id);
    const requests = seen.filter((s) => s.phase === 'request');
    expect(requests.slice(4)).toEqual(requests.slice(0, 4));
  });

  it('uses the id of a new request for segment 0', async () => {
    const conn = await hops(['nsc'], []).request(ctx, newRequest({ id: 'my-id' }));
    expect(conn.path).toEqual(pathOf(0, segment('nsc', 'my-id')));
    expect(conn.id).toBe('my-id');
  });

  it('creates the connection of a request without one', async () => {
    const conn = await hops(['nse'], []).request(ctx, { connection: null, mechanism_preferences: [] });
    expect(conn.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(conn.path?.path_segments).toHaveLength(1);
  });

  it('reuses the id of the next segment when its name matches (e.g. after a restart)', async () => {
    const seen: Seen[] = [];
    const req = newRequest({ id: 'a', path: pathOf(0, segment('nsc', 'a'), segment('nsmgr-a', 'b')) });
    const conn = await hops(['nsmgr-a'], seen).request(ctx, req);
    expect(seen[0]).toEqual({ hop: 'nsmgr-a', phase: 'request', id: 'b', index: 1 });
    expect(conn.id).toBe('a');
    expect(conn.path?.index).toBe(0);
  });

  it('replaces a next segment of another hop with a fresh id and keeps the later ones', async () => {
    const seen: Seen[] = [];
    const old = pathOf(
      1,
      segment('nsc', 'a'),
      segment('nsmgr-a', 'b'),
      segment('forwarder-old', 'c'),
      segment('nse', 'd'),
    );
    const conn = await hops(['forwarder-new'], seen).request(ctx, newRequest({ id: 'b', path: old }));
    const segments = conn.path?.path_segments ?? [];
    expect(segments.map((s) => s.name)).toEqual(['nsc', 'nsmgr-a', 'forwarder-new', 'nse']);
    expect(segments[2]?.id).not.toBe('c');
    expect(segments[3]?.id).toBe('d');
    expect(seen[0]).toMatchObject({ id: segments[2]?.id, index: 2 });
    expect(conn).toMatchObject({ id: 'b', path: { index: 1 } });
  });

  it('takes the id from its own segment on a refresh, whatever the connection id says', async () => {
    const seen: Seen[] = [];
    const req = newRequest({ id: 'stale', path: pathOf(1, segment('nsc', 'a'), segment('nsmgr-a', 'b')) });
    const conn = await hops(['nsmgr-a'], seen).request(ctx, req);
    expect(seen[0]).toMatchObject({ id: 'b', index: 1 });
    expect(conn).toMatchObject({ id: 'b', path: { index: 1 } });
  });

  it('refuses a connection id that does not match the current segment', async () => {
    const seen: Seen[] = [];
    const req = newRequest({ id: 'x', path: pathOf(0, segment('nsc', 'a')) });
    const err = await hops(['nsmgr-a'], seen)
      .request(ctx, req)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NsmError);
    expect((err as NsmError).code).toBe(Code.INVALID_ARGUMENT);
    expect((err as NsmError).message).toMatch(/"x".*"a"/);
    expect(seen).toEqual([]);
  });

  it('refuses an index out of range', async () => {
    const seen: Seen[] = [];
    const req = newRequest({ id: 'a', path: pathOf(2, segment('nsc', 'a'), segment('nsmgr-a', 'b')) });
    const err = await hops(['forwarder-a'], seen)
      .request(ctx, req)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Code.INVALID_ARGUMENT });
    expect((err as NsmError).message).toMatch(/index 2 is out of range/);
    expect(seen).toEqual([]);
  });

  it('does not mutate the caller request', async () => {
    const req = newRequest({ id: 'a', path: pathOf(0, segment('nsc', 'a')) });
    const before = structuredClone(req);
    await hops(['nsmgr-a', 'forwarder-a'], []).request(ctx, req);
    expect(req).toEqual(before);
  });

  it('passes failures of the rest of the chain through', async () => {
    const fail = element({ request: () => Promise.reject(new NsmError(Code.UNAVAILABLE, 'down')) });
    const handler = toHandler([updatePath('nsc'), fail]);
    await expect(handler.request(ctx, newRequest())).rejects.toMatchObject({ code: Code.UNAVAILABLE });
  });

  describe('close', () => {
    it('gives every hop its own id', async () => {
      const seen: Seen[] = [];
      const handler = hops(names.slice(0, 4), seen);
      const conn = await handler.request(ctx, newRequest());
      await handler.close(ctx, conn);
      const requests = seen.filter((s) => s.phase === 'request').map(({ id, index }) => ({ id, index }));
      const closes = seen.filter((s) => s.phase === 'close').map(({ id, index }) => ({ id, index }));
      expect(closes).toEqual(requests);
    });

    it('stops at the first hop that is not on the path, minting nothing', async () => {
      const seen: Seen[] = [];
      const conn = newConnection({ id: 'a', path: pathOf(0, segment('nsc', 'a'), segment('nsmgr-a', 'b')) });
      await hops(['nsc', 'nsmgr-a', 'forwarder-a', 'nse'], seen).close(ctx, conn);
      expect(seen.map((s) => `${s.hop}:${s.id}`)).toEqual(['nsc:a', 'nsmgr-a:b']);
    });

    it('closes nothing for a connection without id or path', async () => {
      const seen: Seen[] = [];
      await hops(['nsc'], seen).close(ctx, newConnection());
      expect(seen).toEqual([]);
    });

    it('closes segment 0 by the connection id when the path is empty', async () => {
      const seen: Seen[] = [];
      await hops(['nse'], seen).close(ctx, newConnection({ id: 'given' }));
      expect(seen).toEqual([{ hop: 'nse', phase: 'close', id: 'given', index: 0 }]);
    });

    it('refuses a mismatched id and an index out of range', async () => {
      const mismatch = newConnection({
        id: 'x',
        path: pathOf(0, segment('nsc', 'a'), segment('nsmgr-a', 'b')),
      });
      await expect(hops(['nsmgr-a'], []).close(ctx, mismatch)).rejects.toMatchObject({
        code: Code.INVALID_ARGUMENT,
      });
      const outOfRange = newConnection({ id: 'a', path: pathOf(3, segment('nsc', 'a')) });
      await expect(hops(['nsmgr-a'], []).close(ctx, outOfRange)).rejects.toMatchObject({
        code: Code.INVALID_ARGUMENT,
      });
    });
  });
});

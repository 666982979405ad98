import { describe, expect, it } from 'vitest';
import { newRequest } from '../../../api/builders.js';
import type { PathSegment } from '../../../api/types.js';
import { element, toHandler, type NetworkServiceElement } from '../../../core/chain.js';
import { createContext } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { updatePath } from '../updatepath/updatepath.js';
import { markClientFollows, trimPath, trimPathClient } from './trimpath.js';

const segment = (name: string, id: string): PathSegment => ({
  name,
  id,
  token: '',
  expires: null,
  metrics: {},
});
const ctx = createContext();

/** A request from `nsc` carrying stale segments of an earlier path after the NSE's place. */
function staleRequest() {
  const segments = [segment('nsc', 'a'), segment('nse', 'b'), segment('old-1', 'c'), segment('old-2', 'd')];
  return newRequest({ id: 'a', path: { index: 0, path_segments: segments } });
}

/** A test double for the continuing client of a hop: marks via the exported function, not the element. */
const markingClient: NetworkServiceElement = element({
  request(c, req, next) {
    markClientFollows(c);
    return next.request(c, req);
  },
});

describe('trimPath', () => {
  it('trims the segments after an endpoint', async () => {
    const endpoint = toHandler([updatePath('nse'), trimPath()]);
    const conn = await endpoint.request(ctx, staleRequest());
    expect(conn.path?.path_segments.map((s) => s.name)).toEqual(['nsc', 'nse']);
    expect(conn.path?.index).toBe(0);
  });

  it('trims an extra empty segment on a refresh (as upstream)', async () => {
    const endpoint = toHandler([updatePath('trim'), trimPath()]);
    const first = await endpoint.request(ctx, newRequest());
    first.path?.path_segments.push(segment('', ''));
    const again = await endpoint.request(ctx, { connection: first, mechanism_preferences: [] });
    expect(again.path?.path_segments).toHaveLength(1);
  });

  it('does not trim when a client follows (trimPathClient)', async () => {
    const passthrough = toHandler([updatePath('pt'), trimPath(), updatePath('pt'), trimPathClient()]);
    const first = await passthrough.request(ctx, newRequest());
    first.path?.path_segments.push(segment('', ''));
    const again = await passthrough.request(ctx, { connection: first, mechanism_preferences: [] });
    expect(again.path?.path_segments).toHaveLength(2);
  });

  it('does not trim when a client follows (markClientFollows)', async () => {
    const hop = toHandler([updatePath('nse'), trimPath(), markingClient]);
    const conn = await hop.request(ctx, staleRequest());
    expect(conn.path?.path_segments).toHaveLength(4);
  });

  it('lets a client mark only its own hop: the endpoint further down still trims', async () => {
    // nsc → passthrough (server, then its client) → endpoint, all in one process with one context.
    const chain = toHandler([
      updatePath('nsc'),
      updatePath('pt'),
      trimPath(),
      trimPathClient(),
      updatePath('nse'),
      trimPath(),
    ]);
    const segments = [segment('nsc', 'a'), segment('pt', 'b'), segment('nse', 'c'), segment('old', 'd')];
    const conn = await chain.request(
      ctx,
      newRequest({ id: 'a', path: { index: 0, path_segments: segments } }),
    );
    expect(conn.path?.path_segments.map((s) => s.name)).toEqual(['nsc', 'pt', 'nse']);
  });

  it('marking without a trimPath before it is a no-op', async () => {
    const client = toHandler([updatePath('nsc'), trimPathClient(), markingClient]);
    const conn = await client.request(ctx, staleRequest());
    expect(conn.path?.path_segments).toHaveLength(4);
  });

  it('passes failures through and closes untouched', async () => {
    const closed: string[] = [];
    const failing = element({
      request: () => Promise.reject(new NsmError(Code.UNAVAILABLE, 'down')),
      close: (_c, conn) => Promise.resolve(void closed.push(conn.id)),
    });
    const endpoint = toHandler([updatePath('nse'), trimPath(), failing]);
    await expect(endpoint.request(ctx, staleRequest())).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    await endpoint.close(ctx, staleRequest().connection!);
    expect(closed).toEqual(['b']);
  });
});

import { describe, expect, it } from 'vitest';
import { newConnection, newRequest, toTimestamp } from '../../../api/builders.js';
import type { Connection, NetworkService, NetworkServiceEndpoint } from '../../../api/types.js';
import { element, toHandler } from '../../../core/chain.js';
import { metadata } from '../../../core/metadata.js';
import { FakeClock } from '../../../core/clock.js';
import { createContext } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { clientUrlOf } from '../clienturl/clienturl.js';
import { endpoint, fakeNseRegistry, fakeNsRegistry, match, networkService } from '../discover/testing.js';
import { discoverForwarder } from './discoverforwarder.js';

const clock = new FakeClock();
const ctx = createContext({ clock });

/** A forwarder registered under `forwarder` with `labels` (p2p and nodeName by default). */
function forwarder(
  name: string,
  labels: Record<string, string> = {},
  init: Partial<NetworkServiceEndpoint> = {},
) {
  return endpoint(name, ['forwarder'], { p2p: 'true', nodeName: 'node-1', ...labels }, init);
}

/** discoverForwarder + a far side that records which forwarder URL each call went to. */
function setup(forwarders: NetworkServiceEndpoint[], services: NetworkService[] = [networkService('svc')]) {
  const calls: { op: string; url: string | undefined }[] = [];
  const down = new Set<string>();
  const far = element({
    request: (c, req, next) => {
      const url = clientUrlOf(c);
      calls.push({ op: 'request', url });
      if (url && down.has(url)) return Promise.reject(new NsmError(Code.UNAVAILABLE, 'connection refused'));
      return next.request(c, req);
    },
    close: (c, conn, next) => (calls.push({ op: 'close', url: clientUrlOf(c) }), next.close(c, conn)),
  });
  const registry = [...forwarders];
  const handler = toHandler([
    metadata('server'),
    discoverForwarder({ nse: fakeNseRegistry(registry), ns: fakeNsRegistry(services), nodeName: 'node-1' }),
    far,
  ]);
  const request = async (id: string, init: Partial<Connection> = {}) => {
    await handler.request(ctx, newRequest({ id, network_service: 'svc', ...init }));
    return calls.at(-1)?.url?.replace(/^unix:\/\/\/run\/nsm\/(.*)\.sock$/, '$1') ?? '';
  };
  return { handler, calls, down, request, registry };
}

const url = (name: string): string => `unix:///run/nsm/${name}.sock`;

describe('discoverForwarder', () => {
  it('picks a local p2p forwarder, ignoring other nodes, other labels and expired ones', async () => {
    const { request } = setup([
      forwarder('remote', { nodeName: 'node-2' }),
      forwarder('sriov', { p2p: 'false' }),
      forwarder('stale', {}, { expiration_time: toTimestamp(clock.now() - 1) }),
      forwarder('local'),
    ]);
    expect(await request('c1')).toBe('local');
  });

  it('accepts forwarders without a nodeName label', async () => {
    const bare = endpoint('bare', ['forwarder'], { p2p: 'true' });
    expect(await setup([bare]).request('c1')).toBe('bare');
  });

  it('takes the required labels from the first fitting match, with fallthrough', async () => {
    const services = [
      networkService('svc', [
        match({ app: 'fast' }, [{ app: 'b' }], { metadata: { dpdk: 'true' }, fallthrough: true }),
        match({ app: 'vlan' }, [{ app: 'b' }], { metadata: { vlan: '{{.vlanId}}' } }),
        match({}, [{ app: 'b' }]),
      ]),
    ];
    const fwds = [forwarder('plain'), forwarder('vlan-100', { p2p: 'false', vlan: '100' })];
    const { request } = setup(fwds, services);
    expect(await request('c1', { labels: { app: 'vlan', vlanId: '100' } })).toBe('vlan-100');
    // No dpdk forwarder: falls through to the catch-all match, which needs p2p.
    expect(await request('c2', { labels: { app: 'fast' } })).toBe('plain');
    expect(await request('c3', { labels: { app: 'other' } })).toBe('plain');
    await expect(request('c4', { labels: { app: 'vlan', vlanId: '200' } })).rejects.toMatchObject({
      code: Code.NOT_FOUND,
      message:
        'no forwarder with labels {vlan={{.vlanId}}} on node "node-1" for network service "svc"; ' +
        'local forwarders: plain {nodeName=node-1, p2p=true}, vlan-100 {nodeName=node-1, p2p=false, vlan=100}',
    });
  });

  it('uses the default labels when no source selector fits, leaving the endpoint error to the forwarder', async () => {
    const services = [networkService('svc', [match({ app: 'a' }, [{ app: 'b' }], { metadata: { x: 'y' } })])];
    expect(await setup([forwarder('plain')], services).request('c1', { labels: { app: 'zzz' } })).toBe(
      'plain',
    );
  });

  it('fails with a clear NOT_FOUND when no forwarder is registered on this node', async () => {
    const { request } = setup([forwarder('remote', { nodeName: 'node-2' })]);
    await expect(request('c1')).rejects.toMatchObject({ code: Code.NOT_FOUND });
    await expect(request('c1')).rejects.toThrow('no forwarder with labels {p2p=true} on node "node-1"');
    await expect(request('c1')).rejects.toThrow(/no forwarder is registered on this node$/);
  });

  it('fails with NOT_FOUND for an unknown network service', async () => {
    await expect(setup([forwarder('f')]).request('c1', { network_service: 'nope' })).rejects.toMatchObject({
      code: Code.NOT_FOUND,
      message: 'network service "nope" is not found',
    });
  });

  it('keeps a connection on its forwarder, and fails rather than move when it is gone', async () => {
    const { request, registry } = setup([forwarder('f1'), forwarder('f2')]);
    expect(await request('c1')).toBe('f1');
    registry.reverse();
    expect(await request('c1')).toBe('f1');
    expect(await request('c2')).toBe('f2');
    registry.splice(
      registry.findIndex((f) => f.name === 'f1'),
      1,
    );
    await expect(request('c1')).rejects.toMatchObject({
      code: Code.UNAVAILABLE,
      message: 'forwarder "f1" of connection c1 is no longer available on node "node-1"',
    });
  });

  it('after a restart prefers the forwarder named in the next path segment, if registered', async () => {
    const path = (fwd: string) => ({
      index: 1,
      path_segments: ['nsc', 'nsmgr', fwd, 'nse'].map((name) => ({
        name,
        id: `${name}-id`,
        token: '',
        expires: null,
        metrics: {},
      })),
    });
    const { request } = setup([forwarder('f1'), forwarder('f2')]);
    expect(await request('c1', { path: path('f2') })).toBe('f2');
    expect(await request('c2', { path: path('f-gone') })).toBe('f1');
  });

  it('clears the choice on RESELECT_REQUESTED', async () => {
    const { request, down } = setup([forwarder('f1'), forwarder('f2')]);
    expect(await request('c1')).toBe('f1');
    down.add(url('f1'));
    await expect(request('c1')).rejects.toThrow('connection refused');
    expect(await request('c1', { state: 'RESELECT_REQUESTED' })).toBe('f2');
    expect(await request('c1')).toBe('f2');
  });

  it('tries the next forwarder when one fails, and lists them all when every one fails', async () => {
    const { request, down, calls } = setup([forwarder('f1'), forwarder('f2')]);
    down.add(url('f1'));
    expect(await request('c1')).toBe('f2');
    expect(calls.map((c) => c.url)).toEqual([url('f1'), url('f2')]);
    down.add(url('f2'));
    await expect(request('c2')).rejects.toMatchObject({
      code: Code.UNAVAILABLE,
      message:
        `all 2 forwarders on node "node-1" failed: f1 (${url('f1')}): UNAVAILABLE: connection refused; ` +
        `f2 (${url('f2')}): UNAVAILABLE: connection refused`,
    });
  });

  it('closes through the chosen forwarder and forgets it', async () => {
    const { handler, request, calls, registry } = setup([forwarder('f1'), forwarder('f2')]);
    await request('c1');
    await handler.close(ctx, newConnection({ id: 'c1', network_service: 'svc' }));
    expect(calls.at(-1)).toEqual({ op: 'close', url: url('f1') });
    registry.reverse();
    expect(await request('c1')).toBe('f2');
  });

  it('closes through the forwarder of the next path segment after a restart', async () => {
    const { handler, calls } = setup([forwarder('f1'), forwarder('f2')]);
    const path = {
      index: 1,
      path_segments: ['nsc', 'nsmgr', 'f2'].map((name) => ({
        name,
        id: name,
        token: '',
        expires: null,
        metrics: {},
      })),
    };
    await handler.close(ctx, newConnection({ id: 'c7', network_service: 'svc', path }));
    await handler.close(ctx, newConnection({ id: 'c8', network_service: 'svc' }));
    expect(calls).toEqual([
      { op: 'close', url: url('f2') },
      { op: 'close', url: undefined },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { clone, emptyIpContext, newRequest } from '../../../api/builders.js';
import type { Connection, NetworkServiceRequest } from '../../../api/types.js';
import { element, toHandler, type NetworkServiceHandler } from '../../../core/chain.js';
import { metadata } from '../../../core/metadata.js';
import { createContext } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { parsePoolPrefix } from '../../../tools/cidr/pool-prefix.js';
import { point2pointIpam } from './point2point.js';
import { errorOf, rejectionOf } from '../../../testing/errors.js';

const ctx = createContext();

function request(id: string, init: (req: NetworkServiceRequest) => void = () => {}): NetworkServiceRequest {
  const req = newRequest({ id, network_service: 'svc' });
  init(req);
  return req;
}

function ipOf(conn: Connection): { dst: string[]; src: string[]; srcRoutes: string[]; dstRoutes: string[] } {
  const ip = conn.context?.ip_context;
  return {
    dst: ip?.dst_ip_addrs ?? [],
    src: ip?.src_ip_addrs ?? [],
    srcRoutes: ip?.src_routes.map((r) => r.prefix) ?? [],
    dstRoutes: ip?.dst_routes.map((r) => r.prefix) ?? [],
  };
}

/** An endpoint: the ipam followed by an optional failure injector. */
function endpoint(prefixes: string[] | string, fail?: { next: boolean }): NetworkServiceHandler {
  const failer = element({
    request: (c, req, next) =>
      fail?.next ? Promise.reject(new NsmError(Code.UNAVAILABLE, 'down')) : next.request(c, req),
  });
  return toHandler([metadata('server'), point2pointIpam(prefixes), failer]);
}

describe('point2pointIpam', () => {
  it('gives the endpoint the first free address and the client the next, with host routes', async () => {
    const nse = endpoint('10.60.1.0/24');
    const a = await nse.request(ctx, request('a'));
    expect(ipOf(a)).toEqual({
      dst: ['10.60.1.1/32'],
      src: ['10.60.1.2/32'],
      srcRoutes: ['10.60.1.1/32'],
      dstRoutes: ['10.60.1.2/32'],
    });
    const b = await nse.request(ctx, request('b'));
    expect(ipOf(b).dst).toEqual(['10.60.1.3/32']);
    expect(ipOf(b).src).toEqual(['10.60.1.4/32']);
  });

  it('uses both addresses of a /31 (NSM_CIDR_PREFIX=172.16.1.100/31) and then reports exhaustion', async () => {
    const nse = endpoint('172.16.1.100/31');
    const a = await nse.request(ctx, request('a'));
    expect(ipOf(a).dst).toEqual(['172.16.1.100/32']);
    expect(ipOf(a).src).toEqual(['172.16.1.101/32']);
    const err = await rejectionOf(nse.request(ctx, request('b')));
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(err.message).toContain('172.16.1.100/31');
    expect(err.message).toContain('"b"');
  });

  it('never hands out the network and broadcast addresses of an IPv4 prefix', async () => {
    const nse = endpoint('10.0.0.0/30');
    expect(ipOf(await nse.request(ctx, request('a')))).toMatchObject({
      dst: ['10.0.0.1/32'],
      src: ['10.0.0.2/32'],
    });
    expect((await rejectionOf(nse.request(ctx, request('b')))).code).toBe(Code.RESOURCE_EXHAUSTED);
  });

  it('keeps addresses across refreshes and releases them on close', async () => {
    const nse = endpoint('172.16.1.100/31');
    const a = await nse.request(ctx, request('a'));
    const refreshed = await nse.request(ctx, { connection: clone(a), mechanism_preferences: [] });
    expect(ipOf(refreshed)).toEqual(ipOf(a));
    // A refresh whose context lost the addresses gets them back, once.
    const bare = await nse.request(ctx, request('a'));
    expect(ipOf(bare)).toEqual(ipOf(a));
    await nse.close(ctx, a);
    const b = await nse.request(ctx, request('b'));
    expect(ipOf(b).dst).toEqual(['172.16.1.100/32']);
  });

  it('releases the addresses of a failed first request, but not of a failed refresh', async () => {
    const fail = { next: true };
    const nse = endpoint('172.16.1.100/31', fail);
    expect((await rejectionOf(nse.request(ctx, request('a')))).code).toBe(Code.UNAVAILABLE);
    fail.next = false;
    const b = await nse.request(ctx, request('b'));
    expect(ipOf(b).dst).toEqual(['172.16.1.100/32']);
    fail.next = true;
    await rejectionOf(nse.request(ctx, { connection: clone(b), mechanism_preferences: [] }));
    fail.next = false;
    expect((await rejectionOf(nse.request(ctx, request('c')))).code).toBe(Code.RESOURCE_EXHAUSTED);
  });

  it('recovers the addresses of a replayed request after a restart instead of renumbering', async () => {
    const before = endpoint('10.60.1.0/24');
    await before.request(ctx, request('a'));
    const b = await before.request(ctx, request('b'));
    expect(ipOf(b)).toMatchObject({ dst: ['10.60.1.3/32'], src: ['10.60.1.4/32'] });

    const after = endpoint('10.60.1.0/24'); // the restarted endpoint: a new instance, empty state
    const replayed = await after.request(ctx, { connection: clone(b), mechanism_preferences: [] });
    expect(ipOf(replayed)).toEqual(ipOf(b));
    // The recovered addresses are taken: a new connection does not get them.
    const c = await after.request(ctx, request('c'));
    expect(ipOf(c)).toMatchObject({ dst: ['10.60.1.1/32'], src: ['10.60.1.2/32'] });
    const d = await after.request(ctx, request('d'));
    expect(ipOf(d)).toMatchObject({ dst: ['10.60.1.5/32'], src: ['10.60.1.6/32'] });
  });

  it('does not recover addresses that are taken, outside the prefix or excluded, and drops the stale ones', async () => {
    const nse = endpoint('10.60.1.0/24');
    await nse.request(ctx, request('a')); // .1/.2
    const stale = request('b', (req) => {
      req.connection!.context = {
        ip_context: {
          ...emptyIpContext(),
          dst_ip_addrs: ['10.60.1.1/32', '192.168.0.1/24'],
          src_ip_addrs: ['10.60.1.2/32'],
          src_routes: [
            { prefix: '10.60.1.1/32', nextHop: '' },
            { prefix: '10.60.1.0/24', nextHop: '' },
          ],
        },
        dns_context: null,
        ethernet_context: null,
        extra_context: {},
        MTU: 0,
      };
    });
    const b = await nse.request(ctx, stale);
    expect(ipOf(b).dst).toEqual(['192.168.0.1/24', '10.60.1.3/32']);
    expect(ipOf(b).src).toEqual(['10.60.1.4/32']);
    expect(ipOf(b).srcRoutes).toEqual(['10.60.1.0/24', '10.60.1.3/32']);
  });

  it('never uses excluded prefixes and moves a connection whose addresses become excluded', async () => {
    const nse = endpoint('10.60.1.0/24');
    const a = await nse.request(
      ctx,
      request('a', (req) => {
        req.connection!.context = ctxWith({ excluded_prefixes: ['10.60.1.0/30', '10.60.1.5'] });
      }),
    );
    expect(ipOf(a)).toMatchObject({ dst: ['10.60.1.4/32'], src: ['10.60.1.6/32'] });
    const moved = clone(a);
    moved.context!.ip_context!.excluded_prefixes.push('10.60.1.4/31');
    const refreshed = await nse.request(ctx, { connection: moved, mechanism_preferences: [] });
    // Only the excluded address moves; the client keeps its own.
    expect(ipOf(refreshed)).toEqual({
      dst: ['10.60.1.7/32'],
      src: ['10.60.1.6/32'],
      srcRoutes: ['10.60.1.7/32'],
      dstRoutes: ['10.60.1.6/32'],
    });
    // .4 is free again but excluded for this connection; another one without that exclusion may take it.
    const b = await nse.request(ctx, request('b'));
    expect(ipOf(b)).toMatchObject({ dst: ['10.60.1.1/32'], src: ['10.60.1.2/32'] });
  });

  it('reports exhaustion when exclusions leave fewer than two addresses', async () => {
    const nse = endpoint('172.16.1.100/31');
    const req = request('a', (r) => {
      r.connection!.context = ctxWith({ excluded_prefixes: ['172.16.1.101/32'] });
    });
    const err = await rejectionOf(nse.request(ctx, req));
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(err.message).toContain('excluded: 172.16.1.101/32');
  });

  it('rejects a malformed excluded prefix naming the field', async () => {
    const nse = endpoint('10.0.0.0/24');
    const req = request('a', (r) => {
      r.connection!.context = ctxWith({ excluded_prefixes: ['10.0.0.0/40'] });
    });
    const err = await rejectionOf(nse.request(ctx, req));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('excluded_prefixes[0]');
    expect(err.message).toContain('prefix length must be 0..32 for IPv4');
  });

  it('allocates one pair per family from IPv4 and IPv6 prefixes at once', async () => {
    const nse = endpoint(['10.60.1.0/24', 'fd00::/64']);
    const a = await nse.request(ctx, request('a'));
    expect(ipOf(a)).toEqual({
      dst: ['10.60.1.1/32', 'fd00::1/128'],
      src: ['10.60.1.2/32', 'fd00::2/128'],
      srcRoutes: ['10.60.1.1/32', 'fd00::1/128'],
      dstRoutes: ['10.60.1.2/32', 'fd00::2/128'],
    });
    const v6 = endpoint('fd00::/127');
    expect(ipOf(await v6.request(ctx, request('x')))).toMatchObject({
      dst: ['fd00::/128'],
      src: ['fd00::1/128'],
    });
  });

  it('falls over to the next prefix of the same family when one is full', async () => {
    const nse = endpoint('10.0.0.0/31, 10.0.1.0/31');
    await nse.request(ctx, request('a'));
    expect(ipOf(await nse.request(ctx, request('b'))).dst).toEqual(['10.0.1.0/32']);
    expect((await rejectionOf(nse.request(ctx, request('c')))).message).toMatch(
      /10\.0\.0\.0\/31.*10\.0\.1\.0\/31/,
    );
  });

  it('rolls back the IPv4 pair when the IPv6 prefix is exhausted', async () => {
    const nse = endpoint(['10.0.0.0/24', 'fd00::/127']);
    await nse.request(ctx, request('a'));
    expect((await rejectionOf(nse.request(ctx, request('b')))).message).toContain('IPv6');
    await nse.close(ctx, request('a').connection!);
    expect(ipOf(await nse.request(ctx, request('c'))).dst).toEqual(['10.0.0.1/32', 'fd00::/128']);
  });

  it.each([
    ['10.0.0.1/32', /single address.*needs 2/],
    ['fd00::1/128', /single address.*\/127 or shorter/],
    ['10.0.0.0/33', /invalid CIDR "10\.0\.0\.0\/33": prefix length must be 0\.\.32 for IPv4/],
    ['not-a-cidr', /invalid CIDR "not-a-cidr"/],
    ['', /at least one prefix/],
    ['10.0.0.0/24,10.0.0.128/25', /overlap/],
    [
      '127.0.0.0/8',
      /prefix "127\.0\.0\.0\/8" lies in the loopback range 127\.0\.0\.0\/8; expected a unicast prefix/,
    ],
    ['10.0.0.0/24, 169.254.1.0/24', /prefix "169\.254\.1\.0\/24" lies in the link-local range/],
    ['224.0.0.0/4', /lies in the multicast range 224\.0\.0\.0\/4/],
    ['255.255.255.254/31', /includes the broadcast address 255\.255\.255\.255/],
    ['0.0.0.0/0', /is the default route: it covers every IPv4 address/],
    ['0.0.0.0/16', /lies in the unspecified \("this network"\) range 0\.0\.0\.0\/8/],
    ['::/0', /is the default route: it covers every IPv6 address/],
    ['::1/128', /is the loopback address ::1; expected .* such as fd00::\/64/],
    ['fe80::/64', /lies in the link-local range fe80::\/10/],
    ['ff02::/16', /lies in the multicast range ff00::\/8/],
  ])('rejects %j at construction', (prefix, message) => {
    let err: unknown;
    try {
      point2pointIpam(prefix);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NsmError);
    expect((err as NsmError).code).toBe(Code.INVALID_ARGUMENT);
    expect((err as NsmError).message).toMatch(message);
  });
});

describe('point2pointIpam and the manifest rule', () => {
  it('refuses a prefix with the message of parsePoolPrefix, which nsm up also gives', () => {
    const shared = errorOf(() => parsePoolPrefix('fe80::/10')).message;
    const err = errorOf(() => point2pointIpam('10.60.1.0/24,fe80::/10'));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toBe(shared);
  });
});

function ctxWith(ip: Partial<ReturnType<typeof emptyIpContext>>): NonNullable<Connection['context']> {
  return {
    ip_context: { ...emptyIpContext(), ...ip },
    dns_context: null,
    ethernet_context: null,
    extra_context: {},
    MTU: 0,
  };
}

import { describe, expect, it } from 'vitest';

import { emptyContext, emptyIpContext } from '@nsm-ts/sdk/api';
import type { ConnectionContext, IPContext } from '@nsm-ts/sdk/api';
import { EMPTY_CONFIG, configRequests, podConfig, removalRequests } from './pod-config.js';

function context(ip: Partial<IPContext>): ConnectionContext {
  return { ...emptyContext(), ip_context: { ...emptyIpContext(), ...ip } };
}

const p2p = context({
  src_ip_addrs: ['10.0.0.2/32', 'fd00::2/128'],
  dst_ip_addrs: ['10.0.0.1/32', 'fd00::1/128'],
  src_routes: [
    { prefix: '10.0.0.1/32', nextHop: '' },
    { prefix: '10.60.0.0/16', nextHop: '' },
    { prefix: 'fd60::/64', nextHop: '' },
    { prefix: '192.168.5.0/24', nextHop: '10.0.0.9' },
  ],
  dst_routes: [{ prefix: '10.0.0.2/32', nextHop: '' }],
  ip_neighbors: [
    { ip: '10.0.0.1', hardware_address: '02:00:00:00:00:01' },
    { ip: '10.0.0.2', hardware_address: '02:00:00:00:00:02' },
  ],
});

describe('podConfig', () => {
  it('gives the client its addresses, a link route to the peer and routes via the peer', () => {
    expect(podConfig(p2p, 'src')).toEqual({
      addresses: ['10.0.0.2/32', 'fd00::2/128'],
      routes: [
        { dst: '10.0.0.1/32', scope: 'link' },
        { dst: '10.60.0.0/16', gateway: '10.0.0.1', onlink: true },
        { dst: 'fd60::/64', gateway: 'fd00::1', onlink: true },
        { dst: '192.168.5.0/24', gateway: '10.0.0.9', onlink: true },
      ],
      neighbors: [{ ip: '10.0.0.1', mac: '02:00:00:00:00:01' }],
    });
  });

  it('gives the endpoint the dst half, and the neighbour entry for the client', () => {
    expect(podConfig(p2p, 'dst')).toEqual({
      addresses: ['10.0.0.1/32', 'fd00::1/128'],
      routes: [{ dst: '10.0.0.2/32', scope: 'link' }],
      neighbors: [{ ip: '10.0.0.2', mac: '02:00:00:00:00:02' }],
    });
  });

  it('is empty without an IP context; routes without a peer of their family stay on the link', () => {
    expect(podConfig(null, 'src')).toBe(EMPTY_CONFIG);
    expect(
      podConfig(context({ src_routes: [{ prefix: '10.1.0.0/16', nextHop: '' }] }), 'src').routes,
    ).toEqual([{ dst: '10.1.0.0/16', scope: 'link' }]);
  });

  it('rejects bad addresses, prefixes and MACs before anything is built', () => {
    expect(() => podConfig(context({ src_ip_addrs: ['10.0.0.300/32'] }), 'src')).toThrow(
      /invalid IP address "10\.0\.0\.300": expected IPv4/,
    );
    expect(() => podConfig(context({ src_routes: [{ prefix: '10.0.0.0/40', nextHop: '' }] }), 'src')).toThrow(
      /invalid prefix length/,
    );
    expect(() =>
      podConfig(context({ ip_neighbors: [{ ip: '10.0.0.1', hardware_address: 'zz' }] }), 'src'),
    ).toThrow(/"zz" is not a MAC address/);
  });
});

describe('config diffs', () => {
  it('adds only what is missing and removes only what is no longer wanted', () => {
    const have = podConfig(p2p, 'src');
    const want = { ...have, addresses: ['10.0.0.3/32'], routes: have.routes.slice(1) };
    expect(configRequests(7, want, have).map((r) => r.operation)).toEqual(['addAddress(7, 10.0.0.3/32)']);
    expect(removalRequests(7, want, have).map((r) => r.operation)).toEqual([
      'deleteRoute(10.0.0.1/32 dev 7)',
      'deleteAddress(7, 10.0.0.2/32)',
      'deleteAddress(7, fd00::2/128)',
    ]);
    expect(configRequests(7, have, have)).toEqual([]);
  });
});

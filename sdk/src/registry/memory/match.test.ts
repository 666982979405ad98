import { describe, expect, it } from 'vitest';
import { newEndpoint } from '../../api/builders.js';
import type { NetworkService } from '../../api/types.js';
import { containsLabels, matchNs, matchNse } from './match.js';

const stored = newEndpoint({
  name: 'nse-1',
  url: 'tcp://10.0.0.1:5001',
  network_service_names: ['vpn', 'firewall'],
  network_service_labels: {
    vpn: { labels: { app: 'gw', nodeName: 'n1' } },
    firewall: { labels: { app: 'fw' } },
  },
});

const ns = (init: Partial<NetworkService>): NetworkService => ({
  name: '',
  payload: '',
  matches: [],
  path_ids: [],
  ...init,
});

describe('matchNse', () => {
  it('matches everything with an empty or absent query', () => {
    expect(matchNse(null, stored)).toBe(true);
    expect(matchNse(newEndpoint(), stored)).toBe(true);
  });

  it('compares name exactly', () => {
    expect(matchNse(newEndpoint({ name: 'nse-1' }), stored)).toBe(true);
    expect(matchNse(newEndpoint({ name: 'nse' }), stored)).toBe(false);
    expect(matchNse(newEndpoint({ name: 'nse-10' }), stored)).toBe(false);
  });

  it('finds the queried url anywhere in the stored one, as upstream (a substring)', () => {
    expect(matchNse(newEndpoint({ url: 'tcp://10.0.0.1:5001' }), stored)).toBe(true);
    expect(matchNse(newEndpoint({ url: 'tcp://10.0.0.1' }), stored)).toBe(true);
    expect(matchNse(newEndpoint({ url: '10.0.0.1:50' }), stored)).toBe(true);
    expect(matchNse(newEndpoint({ url: 'tcp://10.0.0.1:5002' }), stored)).toBe(false);
    expect(matchNse(newEndpoint({ url: 'tcp://10.0.0.1:50011' }), stored)).toBe(false);
  });

  it('compares expiration_time to the second when the query has one', () => {
    const expiring = { ...stored, expiration_time: { seconds: '1800000000', nanos: 5 } };
    expect(matchNse(newEndpoint({ expiration_time: { seconds: '1800000000', nanos: 999 } }), expiring)).toBe(
      true,
    );
    expect(matchNse(newEndpoint({ expiration_time: { seconds: '1800000001', nanos: 5 } }), expiring)).toBe(
      false,
    );
    expect(matchNse(newEndpoint({ expiration_time: { seconds: '1800000000', nanos: 0 } }), stored)).toBe(
      false,
    );
    expect(matchNse(newEndpoint({ expiration_time: { seconds: '0', nanos: 0 } }), stored)).toBe(true);
  });

  it('requires every queried service to be listed', () => {
    expect(matchNse(newEndpoint({ network_service_names: ['vpn'] }), stored)).toBe(true);
    expect(matchNse(newEndpoint({ network_service_names: ['firewall', 'vpn'] }), stored)).toBe(true);
    expect(matchNse(newEndpoint({ network_service_names: ['vpn', 'dns'] }), stored)).toBe(false);
  });

  it('requires every queried label of a service to be present with the same value', () => {
    const q = (labels: Record<string, Record<string, string>>) =>
      newEndpoint({
        network_service_labels: Object.fromEntries(
          Object.entries(labels).map(([s, l]) => [s, { labels: l }]),
        ),
      });
    expect(matchNse(q({ vpn: { app: 'gw' } }), stored)).toBe(true);
    expect(matchNse(q({ vpn: { app: 'gw', nodeName: 'n1' } }), stored)).toBe(true);
    expect(matchNse(q({ vpn: {} }), stored)).toBe(true);
    // upstream: a service named in the label query must be among the stored labels, even with no labels
    expect(matchNse(q({ unknownService: {} }), stored)).toBe(false);
    expect(matchNse(q({ vpn: {}, unknownService: {} }), stored)).toBe(false);
    expect(matchNse(q({ toString: {} }), stored)).toBe(false);
    expect(matchNse(q({ vpn: { app: 'fw' } }), stored)).toBe(false);
    expect(matchNse(q({ vpn: { zone: 'a' } }), stored)).toBe(false);
    // labels are per service: the firewall's app label does not count for vpn
    expect(matchNse(q({ firewall: { nodeName: 'n1' } }), stored)).toBe(false);
    expect(matchNse(q({ dns: { app: 'gw' } }), stored)).toBe(false);
  });

  it('combines fields with AND', () => {
    expect(matchNse(newEndpoint({ name: 'nse-1', network_service_names: ['dns'] }), stored)).toBe(false);
    expect(
      matchNse(
        newEndpoint({ name: 'nse-1', url: 'tcp://10.0.0.1:5001', network_service_names: ['vpn'] }),
        stored,
      ),
    ).toBe(true);
  });
});

describe('matchNs', () => {
  const db = ns({ name: 'db', payload: 'IP' });
  it('compares name and payload exactly when set', () => {
    expect(matchNs(null, db)).toBe(true);
    expect(matchNs(ns({}), db)).toBe(true);
    expect(matchNs(ns({ name: 'db' }), db)).toBe(true);
    expect(matchNs(ns({ name: 'd' }), db)).toBe(false);
    expect(matchNs(ns({ payload: 'IP' }), db)).toBe(true);
    expect(matchNs(ns({ payload: 'ETHERNET' }), db)).toBe(false);
    expect(matchNs(ns({ name: 'db', payload: 'ETHERNET' }), db)).toBe(false);
  });

  it('compares matches field by field when the query has any, as upstream', () => {
    const match = (app: string, fallthrough = false): NetworkService['matches'][number] => ({
      source_selector: { app },
      routes: [{ destination_selector: { app: 'gw' }, weight: 0 }],
      fallthrough,
      metadata: null,
    });
    const routed = ns({ name: 'db', payload: 'IP', matches: [match('fw'), match('nsc', true)] });
    expect(matchNs(ns({ matches: [] }), routed)).toBe(true);
    expect(matchNs(ns({ matches: [match('fw'), match('nsc', true)] }), routed)).toBe(true);
    expect(matchNs(ns({ matches: [match('fw')] }), routed)).toBe(false);
    expect(matchNs(ns({ matches: [match('fw'), match('nsc')] }), routed)).toBe(false);
    expect(matchNs(ns({ matches: [match('nsc', true), match('fw')] }), routed)).toBe(false);
    expect(matchNs(ns({ matches: [match('fw')] }), db)).toBe(false);
  });
});

describe('containsLabels', () => {
  it('does not treat inherited properties as labels', () => {
    const inherited = Object.create({ app: 'x' }) as Record<string, string>;
    expect(containsLabels(inherited, { app: 'x' })).toBe(false);
    expect(containsLabels({ app: 'y' }, inherited)).toBe(true);
    expect(containsLabels(undefined, {})).toBe(true);
    expect(containsLabels(undefined, { a: '' })).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { firstValueFrom, toArray } from 'rxjs';
import { Registry } from 'prom-client';
import { newConnection, newEndpoint, newMechanism } from '../api/builders.js';
import type { Connection } from '../api/types.js';
import { createContext } from '../core/context.js';
import { registryElement, toRegistryHandler } from '../core/registry-chain.js';
import { permissionDenied } from '../security/policies.js';
import { createRegistryServer } from '../registry/chains.js';
import { connectionsGauge, registryGauges, scrapedCounters } from './gauges.js';
import { healMetrics } from './heal.js';
import { chainMetrics } from './chain.js';
import { registryChainMetrics } from './registry.js';

async function sample(registry: Registry, line: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

const ctx = createContext();

describe('connectionsGauge', () => {
  it('counts the connections of the list by service, mechanism and state at each scrape', async () => {
    const registry = new Registry();
    let list: Connection[] = [
      newConnection({ id: 'a', network_service: 'db', mechanism: newMechanism('KERNEL', 'LOCAL') }),
      newConnection({ id: 'b', network_service: 'db', mechanism: newMechanism('KERNEL', 'LOCAL') }),
      newConnection({ id: 'c', network_service: 'web', state: 'DOWN' }),
    ];
    connectionsGauge(registry, () => list);
    expect(await sample(registry, 'nsm_connections{service="db",mechanism="KERNEL",state="UP"}')).toBe(2);
    expect(await sample(registry, 'nsm_connections{service="web",mechanism="",state="DOWN"}')).toBe(1);
    list = list.slice(1, 2);
    expect(await sample(registry, 'nsm_connections{service="db",mechanism="KERNEL",state="UP"}')).toBe(1);
    // A series whose connections are gone is gone, not left at its last value.
    expect(
      await sample(registry, 'nsm_connections{service="web",mechanism="",state="DOWN"}'),
    ).toBeUndefined();
  });
});

describe('registry metrics', () => {
  it("reads the registry server's records and watchers, and counts its calls and refusals", async () => {
    const registry = new Registry();
    chainMetrics(registry); // the refusal counter is shared with the network-service metrics
    let refuse = false;
    const gate = registryElement<unknown, unknown, unknown>({
      register: (c, record, next) =>
        refuse
          ? Promise.reject(permissionDenied('registry_client_allowed', 'not yours'))
          : next.register(c, record),
    });
    const counting = registryChainMetrics(registry);
    const server = createRegistryServer({ metrics: counting });
    const nse = toRegistryHandler([gate as never], server.nse);
    registryGauges(registry, () => server.counts!());
    try {
      await nse.register(ctx, newEndpoint({ name: 'nse-1', network_service_names: ['db'] }));
      await nse.register(ctx, newEndpoint({ name: 'nse-2', network_service_names: ['db'] }));
      await server.ns.register(ctx, { name: 'db', payload: 'IP', matches: [], path_ids: [] });
      const watch = server.nse.find(ctx, { network_service_endpoint: null, watch: true }).subscribe();
      expect(await sample(registry, 'nsm_registry_records{kind="nse"}')).toBe(2);
      expect(await sample(registry, 'nsm_registry_records{kind="ns"}')).toBe(1);
      expect(await sample(registry, 'nsm_registry_watchers{kind="nse"}')).toBe(1);
      expect(await sample(registry, 'nsm_registry_watchers{kind="ns"}')).toBe(0);
      watch.unsubscribe();
      await server.nse.unregister(ctx, newEndpoint({ name: 'nse-1' }));
      expect(await sample(registry, 'nsm_registry_records{kind="nse"}')).toBe(1);
      expect(await sample(registry, 'nsm_registry_watchers{kind="nse"}')).toBe(0);
      expect(
        await sample(registry, 'nsm_registry_calls_total{kind="nse",op="register",result="ok",code="OK"}'),
      ).toBe(2);
      expect(
        await sample(registry, 'nsm_registry_calls_total{kind="nse",op="unregister",result="ok",code="OK"}'),
      ).toBe(1);
      // A refusal by a policy further down a counted chain.
      refuse = true;
      const counted = toRegistryHandler([counting.element('nse'), gate as never], server.nse);
      await expect(counted.register(ctx, newEndpoint({ name: 'nse-3' }))).rejects.toThrow(
        'registry_client_allowed',
      );
      expect(
        await sample(registry, 'nsm_policy_refusals_total{api="registry",policy="registry_client_allowed"}'),
      ).toBe(1);
      expect(
        await sample(
          registry,
          'nsm_registry_calls_total{kind="nse",op="register",result="error",code="PERMISSION_DENIED"}',
        ),
      ).toBe(1);
      const found = await firstValueFrom(
        server.nse.find(ctx, { network_service_endpoint: null, watch: false }).pipe(toArray()),
      );
      expect(found.map((r) => r.network_service_endpoint?.name)).toEqual(['nse-2']);
    } finally {
      server.close();
    }
  });
});

describe('scrapedCounters', () => {
  it('reads once per scrape for all its counters, and drops rows that are gone', async () => {
    const registry = new Registry();
    let reads = 0;
    let rows = [
      { labels: { connection: 'a' }, values: { t_rx_total: 10, t_tx_total: 20 } },
      { labels: { connection: 'b' }, values: { t_rx_total: 1 } },
    ];
    scrapedCounters(
      registry,
      ['connection'],
      [
        { name: 't_rx_total', help: 'rx' },
        { name: 't_tx_total', help: 'tx' },
      ],
      () => {
        reads++;
        return Promise.resolve(rows);
      },
    );
    const text = await registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain('# TYPE t_rx_total counter');
    expect(text).toContain('t_rx_total{connection="a"} 10');
    expect(text).toContain('t_tx_total{connection="a"} 20');
    expect(text).toContain('t_rx_total{connection="b"} 1');
    expect(text).not.toContain('t_tx_total{connection="b"}');
    rows = [{ labels: { connection: 'a' }, values: { t_rx_total: 15, t_tx_total: 25 } }];
    const after = await registry.metrics();
    expect(reads).toBe(2);
    expect(after).toContain('t_rx_total{connection="a"} 15');
    expect(after).not.toContain('connection="b"');
  });
});

describe('healMetrics', () => {
  it('counts losses by cause, attempts by how and result, and heal durations', async () => {
    const registry = new Registry();
    const observe = healMetrics(registry);
    const conn = newConnection({ id: 'c' });
    observe({ type: 'up' });
    observe({ type: 'lost', conn, reason: 'stream-lost' });
    observe({ type: 'failed', conn, how: 'same-path', attempt: 1, error: 'unavailable' });
    observe({ type: 'healed', conn, how: 'reselect', attempt: 2, reason: 'stream-lost', durationMs: 1500 });
    observe({ type: 'lost', conn, reason: 'data-plane' });
    expect(await sample(registry, 'nsm_heal_events_total{cause="stream-lost"}')).toBe(1);
    expect(await sample(registry, 'nsm_heal_events_total{cause="data-plane"}')).toBe(1);
    expect(await sample(registry, 'nsm_heal_attempts_total{how="same-path",result="error"}')).toBe(1);
    expect(await sample(registry, 'nsm_heal_attempts_total{how="reselect",result="ok"}')).toBe(1);
    expect(await sample(registry, 'nsm_heal_duration_seconds_sum{cause="stream-lost",how="reselect"}')).toBe(
      1.5,
    );
    expect(
      await sample(registry, 'nsm_heal_duration_seconds_bucket{le="1",cause="stream-lost",how="reselect"}'),
    ).toBe(0);
    expect(
      await sample(registry, 'nsm_heal_duration_seconds_bucket{le="2.5",cause="stream-lost",how="reselect"}'),
    ).toBe(1);
  });
});

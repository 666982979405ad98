/**
 * Metrics read when Prometheus scrapes (prom-client collect callbacks), never by polling: the
 * connections a hop holds, the registry's records and watchers, and samples a daemon reads itself
 * (the forwarder's interface counters).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Connection } from '../api/types.js';

/** How the registry's stores stand now, per record kind. */
export interface RegistryCounts {
  readonly records: number;
  /** Find calls with `watch: true` streaming now. */
  readonly watchers: number;
}

/**
 * `nsm_connections{service, mechanism, state}`: the connections this hop holds, read from `list` (its
 * monitor) at each scrape. Usage: `connectionsGauge(registry, () => monitor.list())`.
 */
export function connectionsGauge(registry: Registry, list: () => readonly Connection[]): void {
  new Gauge({
    name: 'nsm_connections',
    help: 'Connections this hop holds, by network service, mechanism type and state',
    labelNames: ['service', 'mechanism', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, { service: string; mechanism: string; state: string; n: number }>();
      for (const conn of list()) {
        const labels = {
          service: conn.network_service,
          mechanism: conn.mechanism?.type ?? '',
          state: String(conn.state),
        };
        const key = JSON.stringify(labels);
        const entry = counts.get(key) ?? { ...labels, n: 0 };
        entry.n++;
        counts.set(key, entry);
      }
      for (const { n, ...labels } of counts.values()) this.set(labels, n);
    },
  });
}

/**
 * `nsm_registry_records{kind}` and `nsm_registry_watchers{kind}` (kind `nse` or `ns`), read from
 * `counts` at each scrape. Usage: `registryGauges(registry, () => handlers.counts())`.
 */
export function registryGauges(
  registry: Registry,
  counts: () => { nse: RegistryCounts; ns: RegistryCounts },
): void {
  const gauge = (name: string, help: string, pick: (c: RegistryCounts) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const now = counts();
        this.set({ kind: 'nse' }, pick(now.nse));
        this.set({ kind: 'ns' }, pick(now.ns));
      },
    });
  };
  gauge(
    'nsm_registry_records',
    'Records the registry holds, by kind (nse: NetworkServiceEndpoints, ns: NetworkServices)',
    (c) => c.records,
  );
  gauge(
    'nsm_registry_watchers',
    'Find streams with watch=true open on the registry, by kind (nse, ns)',
    (c) => c.watchers,
  );
}

/** One row of scraped counters: its labels and a value per counter name. */
export interface ScrapedRow<L extends string> {
  readonly labels: Record<L, string>;
  readonly values: Readonly<Record<string, number>>;
}

/**
 * Counters whose values a daemon reads at each scrape (e.g. from the kernel), all from one `read`
 * per scrape: every row it returns is a sample of each counter that has a value in it; what it leaves
 * out is gone from the output. Usage (the forwarder's interface counters):
 * `scrapedCounters(registry, ['connection'], [{ name: 'x_bytes_total', help }], async () => rows)`.
 */
export function scrapedCounters<L extends string>(
  registry: Registry,
  labelNames: readonly L[],
  counters: readonly { name: string; help: string }[],
  read: () => Promise<ScrapedRow<L>[]>,
): void {
  // The registry collects every metric at once: the counters of one scrape share one read.
  let reading: Promise<ScrapedRow<L>[]> | undefined;
  const rows = (): Promise<ScrapedRow<L>[]> =>
    (reading ??= read().finally(() => {
      reading = undefined;
    }));
  for (const spec of counters) {
    new Counter<L>({
      ...spec,
      labelNames,
      registers: [registry],
      async collect() {
        const now = await rows();
        this.reset();
        for (const row of now) {
          const value = row.values[spec.name];
          if (value !== undefined) this.inc(row.labels as Partial<Record<L, string>>, value);
        }
      },
    });
  }
}

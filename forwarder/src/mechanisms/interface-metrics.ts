/**
 * Per-connection interface counters for Prometheus: at each scrape, every end of every wire the
 * forwarder keeps is read through netlink in its pod's namespace (RTM_GETLINK, IFLA_STATS64). A link
 * that is gone or no longer carries the wire's alias is left out.
 */
import type { Registry } from '@nsm-ts/sdk/metrics';
import { scrapedCounters, type ScrapedRow } from '@nsm-ts/sdk/metrics';
import type { KernelDeps } from './deps.js';
import { findOwned, inNamespace } from './wire.js';

type Label = 'connection' | 'side' | 'interface' | 'kind';

/** The counters, by metric name, and what they are read from. */
const COUNTERS = [
  {
    name: 'nsm_interface_rx_bytes_total',
    help: "Bytes received by a connection's interface in its pod",
    field: 'rxBytes',
  },
  {
    name: 'nsm_interface_tx_bytes_total',
    help: "Bytes sent by a connection's interface in its pod",
    field: 'txBytes',
  },
  {
    name: 'nsm_interface_rx_packets_total',
    help: "Packets received by a connection's interface in its pod",
    field: 'rxPackets',
  },
  {
    name: 'nsm_interface_tx_packets_total',
    help: "Packets sent by a connection's interface in its pod",
    field: 'txPackets',
  },
  {
    name: 'nsm_interface_rx_dropped_total',
    help: "Packets dropped on receive by a connection's interface",
    field: 'rxDropped',
  },
  {
    name: 'nsm_interface_tx_dropped_total',
    help: "Packets dropped on send by a connection's interface",
    field: 'txDropped',
  },
] as const;

/** Reads the counters of every wire end now. */
async function readWireCounters(deps: KernelDeps): Promise<ScrapedRow<Label>[]> {
  const reads = [...deps.wires.values()].flatMap((wire) =>
    wire.ends.map(async (end): Promise<ScrapedRow<Label> | undefined> => {
      const { nsPath, nsKey, name, role } = end.target;
      try {
        const link = await inNamespace(deps.netlinks, nsPath, nsKey, (nl) =>
          findOwned(nl, end.index, wire.alias),
        );
        if (!link?.stats) return undefined;
        const values: Record<string, number> = {};
        for (const c of COUNTERS) values[c.name] = link.stats[c.field];
        return {
          labels: {
            connection: wire.connId,
            side: role,
            interface: link.name,
            kind: end.target.device ?? wire.plan.kind,
          },
          values,
        };
      } catch (err) {
        deps.log.debug(
          { connId: wire.connId, interface: name, err: String(err) },
          'interface counters not read',
        );
        return undefined;
      }
    }),
  );
  return (await Promise.all(reads)).filter((row) => row !== undefined);
}

/**
 * Registers `nsm_interface_{rx,tx}_{bytes,packets,dropped}_total{connection, side, interface, kind}`
 * on `registry`, read from the kernel at each scrape.
 * Usage: `interfaceMetrics(metrics.registry, dataplane.deps)`.
 */
export function interfaceMetrics(registry: Registry, deps: KernelDeps): void {
  scrapedCounters<Label>(
    registry,
    ['connection', 'side', 'interface', 'kind'],
    COUNTERS.map(({ name, help }) => ({ name, help })),
    () => readWireCounters(deps),
  );
}

/**
 * @nsm-ts/sdk/metrics: Prometheus metrics of the mesh's processes (prom-client). Nothing here starts
 * a server or counts anything until a process asks: the daemons do when NSM_METRICS_ADDR is set.
 * The metrics and their labels are listed in docs/observability.md.
 */
export * from './address.js';
export * from './chain.js';
export * from './gauges.js';
export * from './heal.js';
export * from './registry.js';
export * from './server.js';
export { Registry } from 'prom-client';

/**
 * Heal metrics of a client (an NSC, a passthrough endpoint's client): its reports as counters and a
 * duration histogram. Usage: `createClient({ onEvent: healMetrics(registry) })`.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { HealEvent } from '../networkservice/common/heal/heal.js';

/** Heal durations in seconds: 50 ms to 2 min. */
export const HEAL_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Registers the heal metrics on `registry`; the function it returns takes the client's events (`up` is not counted). */
export function healMetrics(registry: Registry): (event: HealEvent | { readonly type: 'up' }) => void {
  const registers = [registry];
  const lost = new Counter({
    name: 'nsm_heal_events_total',
    help: 'Connections this client lost and began to heal, by cause (deleted, down, stream-lost: on the control plane; data-plane: its traffic stopped)',
    labelNames: ['cause'],
    registers,
  });
  const attempts = new Counter({
    name: 'nsm_heal_attempts_total',
    help: 'Heal attempts, by how (same-path, reselect) and result (ok, error)',
    labelNames: ['how', 'result'],
    registers,
  });
  const duration = new Histogram({
    name: 'nsm_heal_duration_seconds',
    help: 'From the loss of a connection to its repair, by cause and how it was healed',
    labelNames: ['cause', 'how'],
    buckets: HEAL_BUCKETS,
    registers,
  });
  return (heal) => {
    switch (heal.type) {
      case 'lost':
        lost.inc({ cause: heal.reason });
        break;
      case 'failed':
        attempts.inc({ how: heal.how, result: 'error' });
        break;
      case 'healed':
        attempts.inc({ how: heal.how, result: 'ok' });
        duration.observe({ cause: heal.reason, how: heal.how }, heal.durationMs / 1000);
        break;
      case 'up':
        break;
    }
  };
}

/**
 * Metrics of a server chain: a counting element at its head (requests and closes by result and gRPC
 * code, the whole request's latency, policy refusals), and timers for the stages of a request
 * (endpoint selection, the call to the next hop, building the wire).
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { NetworkServiceHandler } from '../core/chain.js';
import { codeName, NsmError } from '../core/errors.js';
import type { ChainInstruments, Stage } from '../core/instruments.js';
import { PolicyRefusal } from '../security/policies.js';

/** Latency buckets in seconds: 1 ms to 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The stages a request's time is split into (`nsm_stage_duration_seconds{stage}`). */
export type { Stage };

/**
 * What the chain products take to measure themselves (see `createManagerChain({ metrics })`): the
 * chain's instrumentation points, counting and timing (`count` counts and times every request and
 * close; `stage` observes an element's own time; `around` the time of its `next`).
 */
export type ChainMetrics = ChainInstruments;

/** The result label of an outcome: `ok`, or `error` with the gRPC code's name. */
function outcome(err: unknown): { result: string; code: string } {
  if (err === undefined) return { result: 'ok', code: 'OK' };
  return { result: 'error', code: codeName(NsmError.from(err).code) };
}

/**
 * Registers the chain metrics on `registry`. `api` labels the policy refusals (`networkservice`; the
 * registry's are `registry`). `now` is the timer in milliseconds (tests pass a fake one).
 * Usage: `createManagerChain({ ..., metrics: chainMetrics(registry) })`.
 */
export function chainMetrics(registry: Registry, now: () => number = () => performance.now()): ChainMetrics {
  const registers = [registry];
  const requests = new Counter({
    name: 'nsm_requests_total',
    help: 'Requests this hop answered, by result (ok, error) and gRPC code',
    labelNames: ['result', 'code'],
    registers,
  });
  const closes = new Counter({
    name: 'nsm_closes_total',
    help: 'Closes this hop answered, by result (ok, error) and gRPC code',
    labelNames: ['result', 'code'],
    registers,
  });
  const duration = new Histogram({
    name: 'nsm_request_duration_seconds',
    help: 'Time this hop took to answer a request, the rest of the path included, by result',
    labelNames: ['result'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const stages = new Histogram({
    name: 'nsm_stage_duration_seconds',
    help: 'Time of one stage of a request at this hop: select (choosing the endpoint or forwarder), dial (the call to the next hop, its answer included), wire (building the interfaces)',
    labelNames: ['stage'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const refusals = policyRefusals(registry);
  const seconds = (since: number): number => Math.max(0, now() - since) / 1000;

  const observeError = (err: unknown): void => {
    if (err instanceof PolicyRefusal) refusals.inc({ api: 'networkservice', policy: err.policy });
  };

  return {
    count: () => ({
      name: 'metrics',
      async request(ctx, req, next) {
        const started = now();
        let failure: unknown;
        try {
          return await next.request(ctx, req);
        } catch (err) {
          failure = err ?? new Error('request failed');
          observeError(err);
          throw err;
        } finally {
          const o = outcome(failure);
          requests.inc(o);
          duration.observe({ result: o.result }, seconds(started));
        }
      },
      async close(ctx, conn, next) {
        let failure: unknown;
        try {
          await next.close(ctx, conn);
        } catch (err) {
          failure = err ?? new Error('close failed');
          observeError(err);
          throw err;
        } finally {
          closes.inc(outcome(failure));
        }
      },
    }),
    stage: (stage, element) => ({
      ...(element.name ? { name: element.name } : {}),
      async request(ctx, req, next) {
        let inNext = 0;
        const timedNext: NetworkServiceHandler = {
          async request(c, r) {
            const started = now();
            try {
              return await next.request(c, r);
            } finally {
              inNext += now() - started;
            }
          },
          close: (c, conn) => next.close(c, conn),
        };
        const started = now();
        try {
          return await element.request(ctx, req, timedNext);
        } finally {
          stages.observe({ stage }, Math.max(0, now() - started - inNext) / 1000);
        }
      },
      close: (ctx, conn, next) => element.close(ctx, conn, next),
    }),
    around: (stage) => ({
      name: `metrics.${stage}`,
      async request(ctx, req, next) {
        const started = now();
        try {
          return await next.request(ctx, req);
        } finally {
          stages.observe({ stage }, seconds(started));
        }
      },
      close: (ctx, conn, next) => next.close(ctx, conn),
    }),
  };
}

/**
 * `nsm_policy_refusals_total{api, policy}`: calls refused by a token policy (a token that does not
 * verify, has expired, is not chained or not signed by the peer; a connection or record of another
 * owner). Registered once per registry, shared by the network-service and registry counters.
 */
export function policyRefusals(registry: Registry): Counter<'api' | 'policy'> {
  const existing = registry.getSingleMetric('nsm_policy_refusals_total');
  if (existing) return existing as Counter<'api' | 'policy'>;
  return new Counter({
    name: 'nsm_policy_refusals_total',
    help: 'Calls refused by a token policy (PERMISSION_DENIED), by API (networkservice, registry) and policy',
    labelNames: ['api', 'policy'],
    registers: [registry],
  });
}

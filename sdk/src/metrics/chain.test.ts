import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { newRequest } from '../api/builders.js';
import { element, toHandler, type NetworkServiceElement } from '../core/chain.js';
import { createContext } from '../core/context.js';
import { Code, NsmError } from '../core/errors.js';
import { permissionDenied } from '../security/policies.js';
import { chainMetrics } from './chain.js';

/** A timer the test moves by hand, in milliseconds. */
function fakeTimer() {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** The value of one sample in the text format, or undefined when it is absent. */
async function sample(registry: Registry, line: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

const ctx = createContext();

describe('chainMetrics', () => {
  it('counts requests and closes by result and gRPC code, and times whole requests', async () => {
    const registry = new Registry();
    const timer = fakeTimer();
    const metrics = chainMetrics(registry, timer.now);
    let fail: Error | undefined;
    const slow = element({
      request: async (c, req, next) => {
        timer.advance(30);
        if (fail) throw fail;
        return next.request(c, req);
      },
      close: async (c, conn, next) => {
        if (fail) throw fail;
        return next.close(c, conn);
      },
    });
    const handler = toHandler([metrics.count(), slow]);
    const conn = await handler.request(ctx, newRequest({ id: 'c-1' }));
    await handler.request(ctx, newRequest({ id: 'c-2' }));
    await handler.close(ctx, conn);
    fail = new NsmError(Code.NOT_FOUND, 'no endpoint');
    await expect(handler.request(ctx, newRequest({ id: 'c-3' }))).rejects.toThrow('no endpoint');
    fail = new Error('plain');
    await expect(handler.close(ctx, conn)).rejects.toThrow('plain');

    expect(await sample(registry, 'nsm_requests_total{result="ok",code="OK"}')).toBe(2);
    expect(await sample(registry, 'nsm_requests_total{result="error",code="NOT_FOUND"}')).toBe(1);
    expect(await sample(registry, 'nsm_closes_total{result="ok",code="OK"}')).toBe(1);
    expect(await sample(registry, 'nsm_closes_total{result="error",code="UNKNOWN"}')).toBe(1);
    expect(await sample(registry, 'nsm_request_duration_seconds_count{result="ok"}')).toBe(2);
    expect(await sample(registry, 'nsm_request_duration_seconds_sum{result="ok"}')).toBeCloseTo(0.06);
    expect(await sample(registry, 'nsm_request_duration_seconds_bucket{le="0.025",result="ok"}')).toBe(0);
    expect(await sample(registry, 'nsm_request_duration_seconds_bucket{le="0.05",result="ok"}')).toBe(2);
    // Not a policy refusal: nothing counted there.
    expect(
      await sample(registry, 'nsm_policy_refusals_total{api="networkservice",policy="tokens_valid"}'),
    ).toBe(undefined);
  });

  it('counts policy refusals by policy, but not a PERMISSION_DENIED that came from another hop', async () => {
    const registry = new Registry();
    const metrics = chainMetrics(registry);
    let refusal: Error = permissionDenied('tokens_expired', 'the token of hop 0 expired');
    const refuse = element({ request: () => Promise.reject(refusal) });
    const handler = toHandler([metrics.count(), refuse]);
    await expect(handler.request(ctx, newRequest({ id: 'c-1' }))).rejects.toThrow('tokens_expired');
    // What a remote hop's refusal looks like here: a gRPC status, not this process's policy.
    refusal = Object.assign(new Error('7 PERMISSION_DENIED: tokens_valid: bad'), { code: 7 });
    await expect(handler.request(ctx, newRequest({ id: 'c-2' }))).rejects.toThrow('tokens_valid');
    expect(
      await sample(registry, 'nsm_policy_refusals_total{api="networkservice",policy="tokens_expired"}'),
    ).toBe(1);
    expect(
      await sample(registry, 'nsm_policy_refusals_total{api="networkservice",policy="tokens_valid"}'),
    ).toBe(undefined);
    expect(await sample(registry, 'nsm_requests_total{result="error",code="PERMISSION_DENIED"}')).toBe(2);
  });

  it("times a stage by its own work only, and the dial stage by its next hop's answer", async () => {
    const registry = new Registry();
    const timer = fakeTimer();
    const metrics = chainMetrics(registry, timer.now);
    // Work before and after next: 5 ms + 7 ms; the rest of the chain takes 100 ms.
    const own: NetworkServiceElement = {
      name: 'build',
      async request(c, req, next) {
        timer.advance(5);
        const conn = await next.request(c, req);
        timer.advance(7);
        return conn;
      },
      close: (c, conn, next) => next.close(c, conn),
    };
    const rest = element({
      request: (c, req, next) => {
        timer.advance(100);
        return next.request(c, req);
      },
    });
    const stage = metrics.stage('wire', own);
    expect(stage.name).toBe('build');
    const handler = toHandler([stage, metrics.around('dial'), rest]);
    await handler.request(ctx, newRequest({ id: 'c-1' }));
    expect(await sample(registry, 'nsm_stage_duration_seconds_sum{stage="wire"}')).toBeCloseTo(0.012);
    expect(await sample(registry, 'nsm_stage_duration_seconds_count{stage="wire"}')).toBe(1);
    expect(await sample(registry, 'nsm_stage_duration_seconds_sum{stage="dial"}')).toBeCloseTo(0.1);
  });
});

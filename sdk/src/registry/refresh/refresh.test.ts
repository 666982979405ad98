import { firstValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { fromTimestamp, newEndpoint } from '../../api/builders.js';
import type { NetworkServiceEndpoint } from '../../api/types.js';
import { FakeClock } from '../../core/clock.js';
import { createContext, withTimeout, type Context } from '../../core/context.js';
import { Code, NsmError } from '../../core/errors.js';
import {
  registryElement,
  toRegistryHandler,
  type NetworkServiceEndpointQuery,
  type NetworkServiceEndpointResponse,
  type NseElement,
  type NseHandler,
} from '../../core/registry-chain.js';
import { createRegistryServer, type RegistryHandlers } from '../chains.js';
import { registryRefresh, type RefreshElement } from './refresh.js';

/** A test double: counts registers and fails them while `failing` is set. */
function flaky(): NseElement & { registers: number; failing: boolean; sent: NetworkServiceEndpoint[] } {
  const double = {
    registers: 0,
    failing: false,
    sent: [] as NetworkServiceEndpoint[],
    ...registryElement<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse>({
      async register(ctx, nse, next) {
        double.registers++;
        double.sent.push(nse);
        if (double.failing) throw new NsmError(Code.UNAVAILABLE, 'registry is down');
        return next.register(ctx, nse);
      },
    }),
  };
  return double;
}

/** A registry whose backend can be swapped, as if the registry process restarted with empty state. */
function restartable(clock: FakeClock): {
  handler: NseHandler;
  restart(): void;
  current(): RegistryHandlers;
} {
  let registry = createRegistryServer({ clock, defaultLifetimeMs: 60_000 });
  return {
    handler: {
      register: (ctx, nse) => registry.nse.register(ctx, nse),
      find: (ctx, q) => registry.nse.find(ctx, q),
      unregister: (ctx, nse) => registry.nse.unregister(ctx, nse),
    },
    restart() {
      registry.close();
      registry = createRegistryServer({ clock, defaultLifetimeMs: 60_000 });
    },
    current: () => registry,
  };
}

const nse = (name: string): NetworkServiceEndpoint =>
  newEndpoint({ name, network_service_names: ['vpn'], url: 'unix:///run/nse.sock' });
const names = async (ctx: Context, handler: NseHandler): Promise<string[]> =>
  (
    await firstValueFrom(handler.find(ctx, { network_service_endpoint: null, watch: false }).pipe(toArray()))
  ).map((r) => r.network_service_endpoint!.name);

describe('registryRefresh', () => {
  let clock: FakeClock;
  let ctx: Context;
  let refresh: RefreshElement;
  let registry: ReturnType<typeof restartable>;
  let counter: ReturnType<typeof flaky>;
  let client: NseHandler;

  const setup = (options: Parameters<typeof registryRefresh>[0] = {}): void => {
    clock = new FakeClock();
    ctx = createContext({ clock });
    refresh = registryRefresh({ random: () => 0, ...options });
    registry = restartable(clock);
    counter = flaky();
    client = toRegistryHandler([refresh, counter], registry.handler);
  };

  afterEach(() => {
    refresh.close();
    registry.current().close();
  });

  it('re-registers at 2/3 of the lifetime and keeps the record alive', async () => {
    setup({ watch: false });
    const out = await client.register(ctx, nse('a'));
    expect(fromTimestamp(out.expiration_time)).toBe(clock.now() + 60_000);
    await clock.advance(39_999);
    expect(counter.registers).toBe(1);
    await clock.advance(1);
    expect(counter.registers).toBe(2);
    // The refresh asks for the same lifetime again, from now.
    expect(fromTimestamp(counter.sent[1]!.expiration_time)).toBe(clock.now() + 60_000);
    await clock.advance(40_000);
    expect(counter.registers).toBe(3);
    await clock.advance(50_000); // 130 s after registering: long expired without refreshes
    expect(await names(ctx, registry.handler)).toEqual(['a']);
  });

  it('keeps refreshing after the registering call context is cancelled', async () => {
    setup({ watch: false });
    const call = withTimeout(ctx, 1000);
    await client.register(call.ctx, nse('a'));
    call.cancel();
    await clock.advance(40_000);
    expect(counter.registers).toBe(2);
  });

  it('retries a failed refresh, backing off from 200 ms, until it succeeds', async () => {
    setup({ watch: false });
    await client.register(ctx, nse('a'));
    counter.failing = true;
    await clock.advance(40_000); // the refresh fails
    await clock.advance(200); // and the retries: 200 ms, 400 ms later
    await clock.advance(400);
    expect(counter.registers).toBe(4);
    counter.failing = false;
    await clock.advance(799);
    expect(counter.registers).toBe(4);
    await clock.advance(1); // 800 ms later: it succeeds
    expect(counter.registers).toBe(5);
    await clock.advance(39_999);
    expect(counter.registers).toBe(5);
    await clock.advance(1);
    expect(counter.registers).toBe(6);
  });

  it('keeps retrying until unregister, then stops every timer', async () => {
    setup({ watch: false });
    await client.register(ctx, nse('a'));
    counter.failing = true;
    // Attempts at 40 s, +0.2, +0.6, +1.4, +3.0 and +6.2 s: the pause doubles, up to 5 s.
    await clock.advance(40_000 + 10_000);
    expect(counter.registers).toBe(7);
    counter.failing = false;
    await client.unregister(ctx, nse('a'));
    expect(refresh.refreshing.size).toBe(0);
    const before = counter.registers;
    await clock.advance(600_000);
    expect(counter.registers).toBe(before);
    expect(clock.pending).toBe(0);
  });

  it('does not refresh a registration that failed', async () => {
    setup({ watch: false });
    counter.failing = true;
    await expect(client.register(ctx, nse('a'))).rejects.toThrow('registry is down');
    await clock.advance(120_000);
    expect(counter.registers).toBe(1);
    expect(refresh.refreshing.size).toBe(0);
  });

  it('re-registers within 200 ms when the registry restarts (watch stream ends)', async () => {
    setup();
    await client.register(ctx, nse('a'));
    registry.restart();
    expect(await names(ctx, registry.handler)).toEqual([]);
    await clock.advance(200);
    expect(await names(ctx, registry.handler)).toEqual(['a']);
    // ... and the new registry is watched again: a second restart is healed too.
    registry.restart();
    await clock.advance(200);
    expect(await names(ctx, registry.handler)).toEqual(['a']);
  });

  it('re-registers when the registry reports the record deleted by someone else', async () => {
    setup();
    await client.register(ctx, nse('a'));
    await registry.handler.unregister(ctx, nse('a'));
    await clock.advance(200);
    expect(await names(ctx, registry.handler)).toEqual(['a']);
  });

  it('its own unregister does not trigger a re-register', async () => {
    setup();
    await client.register(ctx, nse('a'));
    await client.unregister(ctx, nse('a'));
    await clock.advance(1000);
    expect(await names(ctx, registry.handler)).toEqual([]);
    expect(counter.registers).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('without watch, a restart is healed by the next refresh', async () => {
    setup({ watch: false });
    await client.register(ctx, nse('a'));
    registry.restart();
    await clock.advance(200);
    expect(await names(ctx, registry.handler)).toEqual([]);
    await clock.advance(40_000);
    expect(await names(ctx, registry.handler)).toEqual(['a']);
  });
});

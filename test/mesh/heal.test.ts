/**
 * Keep-alive and heal through real daemons: endpoint death, forwarder, manager and registry restarts,
 * and an abandoned client whose connection times out at every hop.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { clone } from '@nsm-ts/sdk/api';
import { element } from '@nsm-ts/sdk/core';
import { createContext } from '@nsm-ts/sdk/core';
import type { HealEvent } from '@nsm-ts/sdk/elements';
import { createMesh, type Mesh } from '../../bench/src/mesh/mesh.js';
import { registerService } from '../../bench/src/mesh/services.js';

let mesh: Mesh | undefined;

afterEach(async () => {
  await mesh?.close();
  mesh = undefined;
});

async function meshWithService(nodes: number, opts: Parameters<typeof createMesh>[0] = {}): Promise<Mesh> {
  mesh = await createMesh({ nodes, ...opts });
  await registerService(mesh, { name: 'echo', payload: 'ETHERNET' });
  return mesh;
}

/**
 * A client on echo-a whose liveness check always says "alive" (as a stopped pod's namespace answers
 * pings), reporting its heal events; echo-b starts after the client connected.
 */
async function twoEndpointsAndAClient() {
  const m = await meshWithService(1);
  const a = await m.endpoint(1, { name: 'echo-a', serviceNames: ['echo'], cidrPrefix: '10.1.0.0/24' });
  const events: HealEvent[] = [];
  const client = m.client(1, {
    name: 'nsc',
    healRetryMs: 20,
    livenessCheck: () => Promise.resolve(true),
    onEvent: (e) => void (e.type !== 'up' && events.push(e)),
  });
  const conn = await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });
  const b = await m.endpoint(1, { name: 'echo-b', serviceNames: ['echo'], cidrPrefix: '10.2.0.0/24' });
  return { m, a, b, events, client, conn };
}

describe('heal', () => {
  it('reselects another endpoint when the serving one dies', async () => {
    const m = await meshWithService(2);
    const a = await m.endpoint(2, { name: 'echo-a', serviceNames: ['echo'], cidrPrefix: '10.1.0.0/24' });
    const client = m.client(1, { name: 'nsc', healRetryMs: 50 });
    const conn = await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });
    expect(conn.network_service_endpoint_name).toBe('echo-a');
    const b = await m.endpoint(1, { name: 'echo-b', serviceNames: ['echo'], cidrPrefix: '10.2.0.0/24' });
    const downs: string[] = [];
    const events = client.monitor(conn).subscribe((e) => {
      for (const c of Object.values(e.connections)) if (c.state === 'DOWN') downs.push(c.id);
    });

    await a.close({ unregister: false }); // dies: its registration stays until it expires
    await expect.poll(() => b.connections().length, { timeout: 10_000 }).toBe(1);
    events.unsubscribe();
    expect(b.connections()[0]!.network_service_endpoint_name).toBe('echo-b');
    // The manager told the client its connection went DOWN before the client reselected.
    expect(downs.length).toBeGreaterThan(0);
  });

  it('keeps healing until a remote endpoint that died comes back', async () => {
    const m = await meshWithService(2);
    const first = await m.endpoint(2, { name: 'echo-a', serviceNames: ['echo'], cidrPrefix: '10.1.0.0/24' });
    const events: HealEvent[] = [];
    const client = m.client(1, {
      name: 'nsc',
      healRetryMs: 50,
      onEvent: (e) => void (e.type !== 'up' && events.push(e)),
    });
    const conn = await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });

    await first.close();
    // Several heal attempts fail while no endpoint exists.
    await expect
      .poll(() => events.filter((e) => e.type === 'failed').length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(3);
    expect(events.some((e) => e.type === 'healed')).toBe(false);
    const again = await m.endpoint(2, { name: 'echo-a', serviceNames: ['echo'], cidrPrefix: '10.1.0.0/24' });
    await expect.poll(() => events.at(-1)?.type, { timeout: 10_000 }).toBe('healed');
    expect(again.connections()).toHaveLength(1);
    expect(again.connections()[0]!.path!.path_segments[0]!.id).toBe(conn.id);
    expect(client.current(conn.id)?.network_service_endpoint_name).toBe('echo-a');
  });

  it('reselects when the data plane breaks while the control plane is fine', async () => {
    const m = await meshWithService(1);
    const states: string[] = [];
    const seen = element({
      request: (ctx, req, next) => {
        states.push(req.connection!.state);
        return next.request(ctx, req);
      },
    });
    await m.endpoint(1, {
      name: 'echo-a',
      serviceNames: ['echo'],
      cidrPrefix: '10.1.0.0/24',
      elements: [seen],
    });
    let breakDataPlane: (() => void) | undefined;
    const dataPlane = {
      watch: (_ctx: unknown, _conn: unknown, onFailure: () => void) => {
        breakDataPlane = onFailure;
        return () => undefined;
      },
    };
    const client = m.client(1, { name: 'nsc', healRetryMs: 50, dataPlane });
    await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });
    expect(states).toEqual(['UP']);
    breakDataPlane!();
    await expect.poll(() => states, { timeout: 10_000 }).toEqual(['UP', 'RESELECT_REQUESTED']);
  });

  it('closes a connection whose endpoint an edited NetworkService no longer selects, and heals under the new rules', async () => {
    const m = await meshWithService(2);
    const route = (app: string) => ({
      name: 'echo',
      payload: 'ETHERNET',
      matches: [
        {
          source_selector: {},
          routes: [{ destination_selector: { app }, weight: 0 }],
          fallthrough: false,
          metadata: null,
        },
      ],
    });
    await registerService(m, route('a'));
    const a = await m.endpoint(2, {
      name: 'echo-a',
      serviceNames: ['echo'],
      labels: { app: 'a' },
      cidrPrefix: '10.1.0.0/24',
    });
    const b = await m.endpoint(1, {
      name: 'echo-b',
      serviceNames: ['echo'],
      labels: { app: 'b' },
      cidrPrefix: '10.2.0.0/24',
    });
    const client = m.client(1, { name: 'nsc', healRetryMs: 50 });
    const conn = await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });
    expect(conn.network_service_endpoint_name).toBe('echo-a');

    await registerService(m, route('b'));
    await expect
      .poll(() => [a.connections().length, b.connections().length], { timeout: 10_000 })
      .toEqual([0, 1]);
  });

  it('heals after the forwarder restarts', async () => {
    const m = await meshWithService(1);
    const nse = await m.endpoint(1, { name: 'echo-a', serviceNames: ['echo'], cidrPrefix: '10.1.0.0/24' });
    const client = m.client(1, { name: 'nsc', healRetryMs: 50 });
    const conn = await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });
    const firstPath = conn.path!.path_segments.map((s) => s.id);

    await m.node(1).forwarder.stop();
    await m.node(1).forwarder.start();
    await expect.poll(() => m.node(1).forwarder.instance()?.connections(), { timeout: 10_000 }).toBe(1);
    expect(nse.connections()).toHaveLength(1);
    // The client's own segment id survives the heal.
    expect(nse.connections()[0]!.path!.path_segments[0]!.id).toBe(firstPath[0]);
  });

  it('heals after the manager restarts', async () => {
    const m = await meshWithService(1);
    await m.endpoint(1, { name: 'echo-a', serviceNames: ['echo'], cidrPrefix: '10.1.0.0/24' });
    const events: HealEvent[] = [];
    const client = m.client(1, {
      name: 'nsc',
      healRetryMs: 50,
      onEvent: (e) => void (e.type !== 'up' && events.push(e)),
    });
    const conn = await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });

    await m.node(1).manager.stop();
    await m.node(1).manager.start();
    // The client noticed, healed, and the new manager holds the client's connection, on its old path.
    await expect.poll(() => events.at(-1)?.type, { timeout: 10_000 }).toBe('healed');
    expect(events.find((e) => e.type === 'lost')).toMatchObject({ reason: 'stream-lost' });
    const held = m.node(1).manager.instance()!;
    expect(held.connections()).toBe(1);
    expect(client.current(conn.id)?.path?.path_segments.map((s) => s.id)).toEqual(
      conn.path!.path_segments.map((s) => s.id),
    );
  });

  it('keeps connections and re-registers endpoints when the registry restarts', async () => {
    const m = await meshWithService(2);
    const nse = await m.endpoint(2, { name: 'echo-a', serviceNames: ['echo'], cidrPrefix: '10.1.0.0/24' });
    const client = m.client(1, { name: 'nsc', healRetryMs: 50 });
    await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });

    await m.registry.stop();
    await m.registry.start();
    await registerService(m, { name: 'echo', payload: 'ETHERNET' });
    expect(nse.connections()).toHaveLength(1);
    // A new client finds the endpoint again once it has re-registered.
    const late = m.client(1, { name: 'late' });
    await expect
      .poll(
        () =>
          late.request({ networkService: 'echo', mechanisms: ['NOOP'], timeoutMs: 2000 }).then(
            (c) => c.network_service_endpoint_name,
            () => 'not yet',
          ),
        { timeout: 10_000, interval: 200 },
      )
      .toBe('echo-a');
  });

  it('refreshes before tokens expire, and times out at every hop when the client vanishes', async () => {
    const m = await meshWithService(2, { tokenLifetimeMs: 1500 });
    const nse = await m.endpoint(2, {
      name: 'echo-a',
      serviceNames: ['echo'],
      cidrPrefix: '10.1.0.0/24',
      tokenLifetimeMs: 1500,
    });
    const client = m.client(1, { name: 'nsc', tokenLifetimeMs: 1500 });
    const conn = await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });
    const expires = Number(conn.path!.path_segments[0]!.expires!.seconds);

    // Well past the first token's expiry the connection is still held everywhere: refresh worked.
    const seen = new Set<string>();
    await expect
      .poll(
        () => {
          expect(nse.connections()).toHaveLength(1); // never dropped meanwhile
          seen.add(nse.connections()[0]?.path?.path_segments[0]?.expires?.seconds ?? '');
          return [...seen].filter((s) => s !== String(expires)).length;
        },
        { timeout: 8000, interval: 50 },
      )
      .toBeGreaterThanOrEqual(2); // two refreshes: it outlived its first token by far

    // The client process "dies": its refresh timers stop and it never closes.
    client.abandon();
    const held = (): string =>
      [
        nse.connections().length,
        ...m.nodes.flatMap((n) => [
          n.manager.instance()!.connections(),
          n.forwarder.instance()!.connections(),
        ]),
      ].join(',');
    await expect.poll(held, { timeout: 6000 }).toBe('0,0,0,0,0');
  });

  it('reselects after three failed tries on the same path when the endpoint died but its pod still answers', async () => {
    // The data plane of a stopped pod keeps answering pings: liveness says "alive" throughout.
    const { a, b, events, client, conn } = await twoEndpointsAndAClient();
    expect(conn.network_service_endpoint_name).toBe('echo-a');

    await a.close({ unregister: false }); // gone, yet still registered
    await expect.poll(() => events.at(-1)?.type, { timeout: 10_000 }).toBe('healed');
    expect(b.connections()).toHaveLength(1);
    const tries = events.filter((e) => e.type === 'failed').map((e) => (e.type === 'failed' ? e.how : ''));
    expect(tries).toEqual(['same-path', 'same-path', 'same-path']);
    expect(events.at(-1)).toMatchObject({ type: 'healed', how: 'reselect', attempt: 4 });
    // The client's own view follows the heal.
    expect(client.current(conn.id)?.network_service_endpoint_name).toBe('echo-b');
  });

  it("a request in state RESELECT_REQUESTED (upstream's heal) closes the old path before the new request", async () => {
    const m = await meshWithService(1);
    const calls: string[] = [];
    const seen = element({
      request: (ctx, req, next) => {
        calls.push(`request ${req.connection!.state}`);
        return next.request(ctx, req);
      },
      close: (ctx, conn, next) => {
        calls.push('close');
        return next.close(ctx, conn);
      },
    });
    await m.endpoint(1, {
      name: 'echo-a',
      serviceNames: ['echo'],
      cidrPrefix: '10.1.0.0/24',
      elements: [seen],
    });
    const client = m.client(1, { name: 'nsc' });
    const conn = await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });
    client.abandon(); // the test speaks for the client from here on, as an upstream NSC would

    const manager = m.dialAs(m.workload, m.node(1).managerUrl);
    try {
      const again = clone(conn);
      again.state = 'RESELECT_REQUESTED';
      again.network_service_endpoint_name = '';
      again.mechanism = null;
      const ctx = createContext({ deadline: Date.now() + 5000 });
      const healed = await manager.networkService.request(ctx, {
        connection: again,
        mechanism_preferences: [{ type: 'NOOP', cls: 'LOCAL', parameters: {} }],
      });
      expect(healed.network_service_endpoint_name).toBe('echo-a');
      expect(calls).toEqual(['request UP', 'close', 'request RESELECT_REQUESTED']);
      await manager.networkService.close(ctx, healed);
      expect(calls.at(-1)).toBe('close');
    } finally {
      manager.close();
    }
  });

  it('reselects at once when the endpoint of the path is no longer registered', async () => {
    const { a, b, events } = await twoEndpointsAndAClient();
    await a.close(); // stops and unregisters, as a deleted pod does
    await expect.poll(() => events.at(-1)?.type, { timeout: 10_000 }).toBe('healed');
    expect(b.connections()).toHaveLength(1);
    expect(events.map((e) => (e.type === 'lost' ? e.type : `${e.type} ${e.how}`))).toEqual([
      'lost',
      'failed same-path',
      'healed reselect',
    ]);
  });

  it('heals the moment a restarted endpoint registers again when discovery waits (NSM_DISCOVER_WAIT), not at the next retry', async () => {
    const m = await meshWithService(1, { discoverWaitMs: 5000 });
    const a = await m.endpoint(1, { name: 'echo-a', serviceNames: ['echo'], cidrPrefix: '10.1.0.0/24' });
    const events: HealEvent[] = [];
    // Retries so slow that a healed connection within the test's bounds can only come from the wait.
    const client = m.client(1, {
      name: 'nsc',
      healRetryMs: 20_000,
      livenessCheck: () => Promise.resolve(false),
      onEvent: (e) => void (e.type !== 'up' && events.push(e)),
    });
    await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });
    await a.close(); // stopped and unregistered, as a pod being restarted
    await expect.poll(() => events.length, { timeout: 5000 }).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 500));
    const registered = Date.now();
    const b = await m.endpoint(1, { name: 'echo-a2', serviceNames: ['echo'], cidrPrefix: '10.1.0.0/24' });
    await expect.poll(() => events.at(-1)?.type, { timeout: 5000 }).toBe('healed');
    expect(Date.now() - registered).toBeLessThan(5000);
    expect(b.connections()).toHaveLength(1);
    // One reselect that waited, no failed one.
    expect(events.map((e) => (e.type === 'lost' ? e.type : `${e.type} ${e.how}`))).toEqual([
      'lost',
      'healed reselect',
    ]);
  });

  it('a resumed connection (taken over from an earlier process) keeps its id, and later reselects with the mechanisms given', async () => {
    const m = await meshWithService(1);
    const a = await m.endpoint(1, { name: 'echo-a', serviceNames: ['echo'], cidrPrefix: '10.1.0.0/24' });
    const first = m.client(1, { name: 'nsc' });
    const conn = await first.request({ networkService: 'echo', mechanisms: ['NOOP'] });
    first.abandon(); // the init container exits, leaving the connection up
    const events: HealEvent[] = [];
    const second = m.client(1, {
      name: 'nsc',
      healRetryMs: 50,
      onEvent: (e) => void (e.type !== 'up' && events.push(e)),
    });
    const resumed = await second.request({ networkService: 'echo', mechanisms: ['NOOP'], resume: conn });
    expect(resumed.id).toBe(conn.id);
    expect(a.connections().map((c) => c.id)).toHaveLength(1);
    const b = await m.endpoint(1, { name: 'echo-b', serviceNames: ['echo'], cidrPrefix: '10.2.0.0/24' });
    await a.close(); // unregistered: the path cannot come back, heal must reselect
    await expect.poll(() => events.at(-1)?.type, { timeout: 10_000 }).toBe('healed');
    expect(b.connections()).toHaveLength(1);
    expect(second.current(conn.id)?.network_service_endpoint_name).toBe('echo-b');
  });

  it('connects a client that asked before its endpoint registered, once it does', async () => {
    const m = await meshWithService(1, { discoverWaitMs: 5000 });
    const client = m.client(1, { name: 'early' });
    const pending = client.request({ networkService: 'echo', mechanisms: ['NOOP'] });
    await new Promise((r) => setTimeout(r, 300));
    await m.endpoint(1, { name: 'late', serviceNames: ['echo'], cidrPrefix: '10.3.0.0/24' });
    const conn = await pending;
    expect(conn.network_service_endpoint_name).toBe('late');
  });

  it('runs one repair per connection: a data-plane break during a same-path repair turns it to reselect', async () => {
    const m = await meshWithService(1);
    const a = await m.endpoint(1, { name: 'echo-a', serviceNames: ['echo'], cidrPrefix: '10.1.0.0/24' });
    const events: HealEvent[] = [];
    let breakDataPlane: (() => void) | undefined;
    const client = m.client(1, {
      name: 'nsc',
      healRetryMs: 5_000, // a long pause after the first failure: the break must cut it short
      livenessCheck: () => Promise.resolve(true),
      dataPlane: {
        watch: (_ctx, _conn, onFailure) => {
          breakDataPlane = onFailure;
          return () => undefined;
        },
      },
      onEvent: (e) => void (e.type !== 'up' && events.push(e)),
    });
    await client.request({ networkService: 'echo', mechanisms: ['NOOP'] });
    const b = await m.endpoint(1, { name: 'echo-b', serviceNames: ['echo'], cidrPrefix: '10.2.0.0/24' });
    await a.close({ unregister: false });
    await expect.poll(() => events.some((e) => e.type === 'failed'), { timeout: 5000 }).toBe(true);
    breakDataPlane!();
    await expect.poll(() => events.at(-1)?.type, { timeout: 3000 }).toBe('healed');
    expect(b.connections()).toHaveLength(1);
    expect(events.filter((e) => e.type === 'lost')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'healed', how: 'reselect', attempt: 2 });
  });
});

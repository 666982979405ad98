/**
 * Metrics on the local lab, as root, with kernel2kernel (client and endpoint on node-1, a veth
 * between them; the lab has two nodes): every daemon `nsm status --json` lists has a metrics URL,
 * and scraping each shows what the lab did: the registry holds the endpoints and services status
 * shows; the manager and the forwarder answered the request and hold the connection; the
 * forwarder's interface counters of the connection follow a 1 MiB transfer and agree with the
 * kernel's; the client pod counts the heal of its deleted interface. Then the client pod stops (its connection closes) and the endpoint pod stops (it
 * unregisters), and the metrics follow.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { counters, hostOf, statusJson, type StatusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { parseMetrics, scrape, select, total, type MetricSample } from '../harness/metrics.js';
import { checkProblems, nsm, testLabName } from '../harness/nsm-cli.js';
import { tcpEcho } from '../harness/tcp.js';

describe.skipIf(!isRoot)(rootTitle('test/e2e/metrics'), () => {
  const lab = testLabName('metrics');
  const CLIENT = 'nsc-kernel';
  const ENDPOINT = 'nse-kernel';
  const SERVICE = 'kernel2kernel';
  let status: StatusJson;

  const forwarders = (): string[] => status.nodes.map((n) => `forwarder-${n.name}`);
  const nsOf = (pod: string): string => status.pods.find((p) => p.name === pod)!.netns;

  /** The samples of a daemon, scraped at the URL `nsm status --json` gives for it. */
  async function metricsOf(daemon: string): Promise<MetricSample[]> {
    const component = status.components.find((c) => c.name === daemon);
    if (!component?.metrics) throw new Error(`nsm status lists no metrics URL for ${daemon}`);
    return parseMetrics(await scrape(component.metrics));
  }

  /** The forwarder's interface counter `name` of the client's connection, on the side `side`. */
  const interfaceCounter = (samples: MetricSample[], name: string, side: 'nsc' | 'nse'): MetricSample[] =>
    select(samples, name, { side, connection: forwarderConnectionId(samples) });

  /** The one connection the forwarder's interface counters are about. */
  function forwarderConnectionId(samples: MetricSample[]): string {
    const ids = new Set(select(samples, 'nsm_interface_tx_bytes_total').map((s) => s.labels['connection']));
    expect([...ids]).toHaveLength(1);
    return [...ids][0]!;
  }

  beforeAll(async () => {
    const up = await nsm(lab, 'up', 'deploy/examples/kernel2kernel', '--timeout', '60s');
    expect(up.code, up.stderr).toBe(0);
    expect(await checkProblems(lab)).toEqual([]);
    status = await statusJson(lab);
  }, 90_000);

  afterAll(async () => {
    await nsm(lab, 'down');
    expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
  }, 60_000);

  it('nsm status --json lists a metrics URL for every daemon, on the loopback of its namespace, and each answers', async () => {
    const daemons = ['registry', ...status.nodes.flatMap((n) => [`nsmgr-${n.name}`, `forwarder-${n.name}`])];
    expect(status.components.map((c) => c.name).sort()).toEqual(daemons.sort());
    for (const c of status.components) {
      expect(c.metrics?.url, c.name).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const where = c.kind === 'registry' ? 'fabric' : c.node;
      expect(c.metrics?.netns, c.name).toBe(`/run/netns/nsm-${lab}-${where}`);
      expect(total(await metricsOf(c.name), 'process_cpu_seconds_total'), c.name).toBeGreaterThan(0);
    }
  });

  it('the registry counts the records nsm status shows, and the watches on them', async () => {
    const registry = await metricsOf('registry');
    expect(status.endpoints.map((e) => e.name).sort()).toEqual([...forwarders(), ENDPOINT].sort());
    expect(total(registry, 'nsm_registry_records', { kind: 'nse' })).toBe(status.endpoints.length);
    expect(total(registry, 'nsm_registry_records', { kind: 'ns' })).toBe(status.services.length);
    // The manager's registry cache watches both kinds.
    expect(total(registry, 'nsm_registry_watchers', { kind: 'nse' })).toBeGreaterThanOrEqual(1);
    expect(total(registry, 'nsm_registry_watchers', { kind: 'ns' })).toBeGreaterThanOrEqual(1);
    expect(
      total(registry, 'nsm_registry_calls_total', { kind: 'nse', op: 'register', result: 'ok' }),
    ).toBeGreaterThanOrEqual(status.endpoints.length);
    expect(total(registry, 'nsm_policy_refusals_total')).toBe(0);
    expect(total(registry, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('the manager and the forwarder answered the request and hold one connection of the service', async () => {
    for (const daemon of ['nsmgr-node-1', 'forwarder-node-1']) {
      const m = await metricsOf(daemon);
      expect(total(m, 'nsm_requests_total', { result: 'ok', code: 'OK' }), daemon).toBeGreaterThanOrEqual(1);
      expect(
        total(m, 'nsm_connections', { service: SERVICE, mechanism: 'KERNEL', state: 'UP' }),
        daemon,
      ).toBe(1);
      expect(total(m, 'nsm_request_duration_seconds_count', { result: 'ok' }), daemon).toBeGreaterThanOrEqual(
        1,
      );
      expect(
        total(m, 'nsm_stage_duration_seconds_count', { stage: 'select' }),
        daemon,
      ).toBeGreaterThanOrEqual(1);
      expect(total(m, 'nsm_stage_duration_seconds_count', { stage: 'dial' }), daemon).toBeGreaterThanOrEqual(
        1,
      );
      expect(total(m, 'nsm_policy_refusals_total'), daemon).toBe(0);
    }
    const forwarder = await metricsOf('forwarder-node-1');
    expect(total(forwarder, 'nsm_stage_duration_seconds_count', { stage: 'wire' })).toBeGreaterThanOrEqual(1);
    // The manager registered the forwarder and the endpoint through its registry proxy.
    const manager = await metricsOf('nsmgr-node-1');
    expect(
      total(manager, 'nsm_registry_calls_total', { kind: 'nse', op: 'register', result: 'ok' }),
    ).toBeGreaterThanOrEqual(2);
  });

  it("the connection's interface counters grow with a 1 MiB transfer and agree with the kernel's", async () => {
    const link = status.links.find((l) => l.client === CLIENT)!;
    expect(link).toBeDefined();
    const before = await metricsOf('forwarder-node-1');
    const nscTx = interfaceCounter(before, 'nsm_interface_tx_bytes_total', 'nsc');
    const nseRx = interfaceCounter(before, 'nsm_interface_rx_bytes_total', 'nse');
    expect(nscTx).toHaveLength(1);
    expect(nseRx).toHaveLength(1);
    expect(nscTx[0]!.labels['interface']).toBe(link.clientInterface);
    const kernelBefore = counters(nsOf(CLIENT), link.clientInterface);

    const echo = await tcpEcho(
      { netns: nsOf(ENDPOINT), ip: hostOf(link.endpointIps[0]) },
      { netns: nsOf(CLIENT), ip: hostOf(link.clientIps[0]) },
      1 << 20,
    );
    expect(echo).toMatchObject({ received: 1 << 20, same: true });

    const after = await metricsOf('forwarder-node-1');
    const kernelAfter = counters(nsOf(CLIENT), link.clientInterface);
    const tx = interfaceCounter(after, 'nsm_interface_tx_bytes_total', 'nsc')[0]!.value;
    const rx = interfaceCounter(after, 'nsm_interface_rx_bytes_total', 'nsc')[0]!.value;
    expect(tx - nscTx[0]!.value).toBeGreaterThanOrEqual(1 << 20);
    expect(
      interfaceCounter(after, 'nsm_interface_rx_bytes_total', 'nse')[0]!.value - nseRx[0]!.value,
    ).toBeGreaterThanOrEqual(1 << 20);
    expect(interfaceCounter(after, 'nsm_interface_tx_packets_total', 'nsc')[0]!.value).toBeGreaterThan(
      interfaceCounter(before, 'nsm_interface_tx_packets_total', 'nsc')[0]!.value,
    );
    // Read between two readings of `ip -s link` (pings keep the counters moving).
    expect(tx).toBeGreaterThanOrEqual(kernelBefore.tx);
    expect(tx).toBeLessThanOrEqual(kernelAfter.tx);
    expect(rx).toBeGreaterThanOrEqual(kernelBefore.rx);
    expect(rx).toBeLessThanOrEqual(kernelAfter.rx);
  }, 60_000);

  it("the client pod counts a heal when its interface is deleted behind the mesh, with the heal's duration", async () => {
    const pod = status.pods.find((p) => p.name === CLIENT)!;
    expect(pod.metrics?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const clientMetrics = async (): Promise<MetricSample[]> => parseMetrics(await scrape(pod.metrics!));
    const before = await clientMetrics();
    expect(total(before, 'nsm_heal_events_total')).toBe(0);
    const link = status.links.find((l) => l.client === CLIENT)!;
    execFileSync('ip', ['-n', `nsm-${lab}-${CLIENT}`, 'link', 'del', link.clientInterface]);
    await expect
      .poll(
        async () => total(await clientMetrics(), 'nsm_heal_duration_seconds_count', { cause: 'data-plane' }),
        {
          timeout: 20_000,
          interval: 300,
        },
      )
      .toBe(1);
    const after = await clientMetrics();
    expect(total(after, 'nsm_heal_events_total', { cause: 'data-plane' })).toBe(1);
    expect(total(after, 'nsm_heal_attempts_total', { result: 'ok' })).toBe(1);
    expect(total(after, 'nsm_heal_duration_seconds_sum', { cause: 'data-plane' })).toBeGreaterThan(0);
    await expect.poll(() => checkProblems(lab), { timeout: 20_000, interval: 500 }).toEqual([]);
    // The forwarder holds the healed connection, one wire with its counters.
    const forwarder = await metricsOf('forwarder-node-1');
    expect(total(forwarder, 'nsm_connections', { service: SERVICE })).toBe(1);
    expect(interfaceCounter(forwarder, 'nsm_interface_tx_bytes_total', 'nsc')).toHaveLength(1);
  }, 60_000);

  it('a stopped client closes its connection: counted as closed, gone from the connections and counters', async () => {
    const managerBefore = await metricsOf('nsmgr-node-1');
    const forwarderBefore = await metricsOf('forwarder-node-1');
    const stop = await nsm(lab, 'stop', CLIENT);
    expect(stop.code, stop.stderr).toBe(0);
    await expect
      .poll(async () => total(await metricsOf('forwarder-node-1'), 'nsm_connections', { service: SERVICE }), {
        timeout: 20_000,
        interval: 300,
      })
      .toBe(0);
    const manager = await metricsOf('nsmgr-node-1');
    const forwarder = await metricsOf('forwarder-node-1');
    expect(total(manager, 'nsm_connections', { service: SERVICE })).toBe(0);
    for (const [before, now] of [
      [managerBefore, manager],
      [forwarderBefore, forwarder],
    ] as const)
      expect(total(now, 'nsm_closes_total', { result: 'ok' })).toBeGreaterThan(
        total(before, 'nsm_closes_total', { result: 'ok' }),
      );
    expect(select(forwarder, 'nsm_interface_tx_bytes_total')).toEqual([]);
  }, 60_000);

  it('a stopped endpoint unregisters: the registry counts one endpoint record fewer', async () => {
    const before = total(await metricsOf('registry'), 'nsm_registry_records', { kind: 'nse' });
    const stop = await nsm(lab, 'stop', ENDPOINT);
    expect(stop.code, stop.stderr).toBe(0);
    await expect
      .poll(async () => total(await metricsOf('registry'), 'nsm_registry_records', { kind: 'nse' }), {
        timeout: 20_000,
        interval: 300,
      })
      .toBe(before - 1);
    const registry = await metricsOf('registry');
    expect(
      total(registry, 'nsm_registry_calls_total', { kind: 'nse', op: 'unregister', result: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect((await statusJson(lab)).endpoints.map((e) => e.name).sort()).toEqual(forwarders());
  }, 60_000);
});

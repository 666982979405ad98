/**
 * The memif probe and the CNF helpers on a real memif pair: the probe resolves the peer by ARP,
 * counts answered echoes, counts misses when the peer stops answering and asks ARP again when
 * another peer takes the address; openMemifOf and memifEndpoint refuse what they cannot serve.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newMechanism, type Connection } from '@nsm-ts/sdk/api';
import { Code, createContext, metadata, toHandler, type NsmError } from '@nsm-ts/sdk/core';
import { newRequest } from '@nsm-ts/sdk/api';
import { randomSuffix } from '../kernel/testing/netns-fixture.js';
import {
  answerArpAndIcmp,
  createMemifClient,
  createMemifServer,
  memifEndpoint,
  openMemifOf,
  probeOverMemif,
} from './index.js';

describe('probeOverMemif, openMemifOf, memifEndpoint', () => {
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  function pair() {
    const socket = `@nsm-test-probe-${randomSuffix()}`;
    const server = createMemifServer({ socket });
    closers.push(() => server.close());
    const client = createMemifClient({ socket });
    closers.push(() => client.close());
    return { server: server.interface(0), client };
  }

  it('learns the peer MAC by ARP and counts answered echoes; counts misses when the peer stops', async () => {
    const { server, client } = pair();
    await client.waitUp();
    await server.waitUp();
    const responder = answerArpAndIcmp(server, { ip: '10.1.0.1/32', mac: '02:00:00:00:00:01' });
    closers.push(() => responder.stop());
    const probe = probeOverMemif(client, {
      ip: '10.1.0.2/32',
      peer: '10.1.0.1',
      everyMs: 20,
      timeoutMs: 200,
    });
    closers.push(() => probe.stop());
    await expect.poll(() => probe.stats().answered, { timeout: 3000 }).toBeGreaterThanOrEqual(5);
    expect(probe.stats().peerMac).toBe('02:00:00:00:00:01');
    expect(responder.stats().icmp).toBeGreaterThanOrEqual(5);
    responder.stop();
    const missed = probe.stats().missed;
    await expect.poll(() => probe.stats().missed, { timeout: 3000 }).toBeGreaterThan(missed + 3);
    // Another peer takes the address (a healed link ending elsewhere): after the misses the probe
    // asks ARP again and follows it.
    const other = answerArpAndIcmp(server, { ip: '10.1.0.1/32', mac: '02:00:00:00:00:09' });
    closers.push(() => other.stop());
    await expect.poll(() => probe.stats().peerMac, { timeout: 3000 }).toBe('02:00:00:00:00:09');
    const answered = probe.stats().answered;
    await expect.poll(() => probe.stats().answered, { timeout: 3000 }).toBeGreaterThan(answered);
  });

  it('refuses a bad address or pace, naming it', () => {
    const { client } = pair();
    expect(() => probeOverMemif(client, { ip: '10.1.0.300/32', peer: '10.1.0.1' })).toThrow(/10\.1\.0\.300/);
    expect(() => probeOverMemif(client, { ip: '10.1.0.2/32', peer: 'ten' })).toThrow(/ten/);
    expect(() => probeOverMemif(client, { ip: '10.1.0.2/32', peer: '10.1.0.1', everyMs: 1 })).toThrow(
      /at least 10 ms/,
    );
  });

  it('openMemifOf refuses a connection that is not MEMIF or names no socket', () => {
    const conn = (mechanism: Connection['mechanism']): Connection => ({
      ...newRequest({ id: 'c1' }).connection!,
      mechanism,
    });
    expect(() => openMemifOf(conn(newMechanism('KERNEL', 'LOCAL')))).toThrow(
      "connection c1 has mechanism KERNEL: expected MEMIF (request it with mechanisms: ['MEMIF'])",
    );
    expect(() => openMemifOf(conn(newMechanism('MEMIF', 'LOCAL')))).toThrow(
      "connection c1's MEMIF mechanism has no socketfile",
    );
  });

  it('memifEndpoint serves a memif per connection, names it in the answer, keeps it on refresh and closes it', async () => {
    const opened: string[] = [];
    const closed: string[] = [];
    const handler = toHandler([
      metadata('server'),
      memifEndpoint({
        socketOf: (id) => `@nsm-test-nse-${id}`,
        onConnection: (conn) => {
          opened.push(conn.id);
          return () => closed.push(conn.id);
        },
      }),
    ]);
    const ctx = createContext();
    const id = `e-${randomSuffix()}`;
    const req = newRequest({ id }, [newMechanism('MEMIF', 'LOCAL')]);
    req.connection!.mechanism = newMechanism('MEMIF', 'LOCAL');
    const conn = await handler.request(ctx, req);
    expect(conn.mechanism?.parameters).toMatchObject({
      socketfile: `@nsm-test-nse-${id}`,
      inodeURL: `file:///proc/${process.pid}/ns/net`,
    });
    const client = createMemifClient({ socket: `@nsm-test-nse-${id}` });
    closers.push(() => client.close());
    await client.waitUp();
    await handler.request(ctx, { connection: conn, mechanism_preferences: [] });
    expect(opened).toEqual([id]);
    await handler.close(ctx, conn);
    expect(closed).toEqual([id]);
    await expect.poll(() => client.up).toBe(false);
    // An endpoint socket that is a path would resolve in the forwarder's file system: refused.
    const bad = toHandler([metadata('server'), memifEndpoint({ socketOf: () => '/run/x.sock' })]);
    const badReq = newRequest({ id: 'p' }, []);
    badReq.connection!.mechanism = newMechanism('MEMIF', 'LOCAL');
    const err = (await bad.request(ctx, badReq).catch((e: unknown) => e)) as NsmError;
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('expected an abstract socket');
  });
});

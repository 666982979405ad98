import { afterEach, describe, expect, test } from 'vitest';

import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

import { ipIn, NamespaceFixture } from '../kernel/testing/netns-fixture.js';
import { answerArpAndIcmp, createMemifBridge, createMemifClient, createMemifServer } from './index.js';
import { abstractName, Closer } from './testing/names.js';
import { stopAll, Testpmd, TESTPMD } from './testing/testpmd.js';
import { threadTicks } from './testing/resources.js';
import { linkStats, pingFrom, vethPair, vxlanOver } from './testing/wires.js';

const fx = new NamespaceFixture();
const closer = new Closer();
const pmds: Testpmd[] = [];
afterEach(() =>
  stopAll(
    pmds,
    () => closer.closeAll(),
    () => fx.cleanup(),
  ),
);

describe.skipIf(!isRoot)(rootTitle('memif bridge to a kernel interface'), () => {
  test('ping from a namespace reaches a JS responder on a memif client through a bridge (server role)', async () => {
    const w = vethPair(fx, 'br');
    ipIn(w.b.name, 'addr', 'add', '10.60.0.1/24', 'dev', w.ifB);
    const socket = abstractName('bridge');
    const bridge = closer.add(
      createMemifBridge({
        memif: { role: 'server', socket, netns: w.a.path, name: 'bridge0' },
        kernel: { ifname: w.ifA, netns: w.a.path },
      }),
    );
    const client = closer.add(createMemifClient({ socket, netns: w.a.path, reconnectMs: 50 }));
    const responder = answerArpAndIcmp(client, { ip: '10.60.0.2/24' });
    await Promise.all([client.waitUp(AbortSignal.timeout(5000)), bridge.waitUp(AbortSignal.timeout(5000))]);
    const before = linkStats(w.b.name, w.ifB);
    const ping = await pingFrom(w.b.name, '10.60.0.2', 5);
    expect(ping.received, ping.out).toBe(5);
    expect(responder.stats()).toMatchObject({ arp: 1, icmp: 5, bad: 0, dropped: 0 });
    // Every frame is counted once on each side: what ns B sent reached the client, what the
    // client answered reached ns B, and nothing we sent to the kernel came back to memif.
    const after = linkStats(w.b.name, w.ifB);
    const s = bridge.stats();
    const c = client.stats();
    expect(s.up).toBe(true);
    expect(s.toMemif.frames).toBe(after.tx - before.tx);
    expect(s.toMemif.frames).toBe(c.rxFrames);
    expect(s.toKernel.frames).toBe(c.txFrames);
    expect(s.toKernel.frames).toBe(after.rx - before.rx);
    expect(s.toKernel.frames).toBe(6); // one ARP reply, five echo replies
    expect(s.toMemif.drops + s.toKernel.drops).toBe(0);
    expect(s.kernelError).toBe('');
    // A flood (each echo sent as soon as the last reply is in) keeps every counter in step.
    const flood = await pingFrom(w.b.name, '10.60.0.2', 3000, true);
    expect(flood.received, flood.out).toBe(3000);
    expect(responder.stats().icmp).toBe(3005);
    const f = bridge.stats();
    expect(f.toKernel.frames).toBe(client.stats().txFrames);
    expect(f.toMemif.frames).toBe(client.stats().rxFrames);
    expect(f.toMemif.drops + f.toKernel.drops).toBe(0);
    responder.stop();
  });

  test('bridge as memif client of a JS server; frames from the kernel while memif is down are dropped and counted', async () => {
    const w = vethPair(fx, 'bc');
    ipIn(w.b.name, 'addr', 'add', '10.60.0.1/24', 'dev', w.ifB);
    const socket = abstractName('bridge-client');
    const server = closer.add(createMemifServer({ socket }));
    const bridge = closer.add(
      createMemifBridge({
        memif: { role: 'client', socket, reconnectMs: 50 },
        kernel: { ifname: w.ifA, netns: w.a.path },
        batch: 16,
      }),
    );
    const responder = answerArpAndIcmp(server.interface(0), { ip: '10.60.0.2/24' });
    await bridge.waitUp(AbortSignal.timeout(5000));
    expect((await pingFrom(w.b.name, '10.60.0.2', 3)).received).toBe(3);
    expect(responder.stats().icmp).toBe(3);
    // The server goes away: the bridge's link goes down and what the kernel sends is dropped.
    server.close();
    await expect.poll(() => bridge.up).toBe(false);
    const dropsBefore = bridge.stats().toMemif.drops;
    expect((await pingFrom(w.b.name, '10.60.0.2', 2)).received).toBe(0);
    await expect.poll(() => bridge.stats().toMemif.drops).toBeGreaterThan(dropsBefore);
    // A new server at the same address: the bridge reconnects and traffic passes again.
    const again = closer.add(createMemifServer({ socket }));
    answerArpAndIcmp(again.interface(0), { ip: '10.60.0.2/24' });
    await bridge.waitUp(AbortSignal.timeout(5000));
    expect((await pingFrom(w.b.name, '10.60.0.2', 3)).received).toBe(3);
  });

  test('a VXLAN device as the kernel side: ping over the tunnel reaches the memif responder', async () => {
    const w = vethPair(fx, 'bx');
    const vx = vxlanOver(w, `vx${process.pid % 100000}`, 42);
    ipIn(w.b.name, 'addr', 'add', '10.60.0.1/24', 'dev', vx);
    const socket = abstractName('bridge-vxlan');
    const bridge = closer.add(
      createMemifBridge({ memif: { role: 'server', socket }, kernel: { ifname: vx, netns: w.a.path } }),
    );
    const client = closer.add(createMemifClient({ socket, reconnectMs: 50 }));
    const responder = answerArpAndIcmp(client, { ip: '10.60.0.2/24' });
    await bridge.waitUp(AbortSignal.timeout(5000));
    const ping = await pingFrom(w.b.name, '10.60.0.2', 5);
    expect(ping.received, ping.out).toBe(5);
    expect(responder.stats().icmp).toBe(5);
    // The kernel may still probe its neighbour (a unicast ARP) while this runs: the answer to it can
    // be on its way through the bridge when the counters are read.
    await expect.poll(() => bridge.stats().toKernel.frames).toBe(client.stats().txFrames);
  });

  test.skipIf(!TESTPMD)(
    'testpmd (icmpecho) as the memif peer: ping from the kernel side is answered by DPDK',
    async () => {
      const w = vethPair(fx, 'bp');
      ipIn(w.b.name, 'addr', 'add', '10.60.0.1/24', 'dev', w.ifB);
      const socket = abstractName('bridge-pmd');
      const bridge = closer.add(
        createMemifBridge({ memif: { role: 'server', socket }, kernel: { ifname: w.ifA, netns: w.a.path } }),
      );
      const pmd = new Testpmd({
        role: 'client',
        socket,
        forwardMode: 'icmpecho',
        prefix: `nsm-memif-bpmd-${process.pid}`,
      });
      pmds.push(pmd);
      await bridge.waitUp(AbortSignal.timeout(30_000));
      await expect.poll(() => pmd.started, { timeout: 30_000 }).toBe(true);
      // testpmd busy-polls both vCPUs: when another suite runs beside this one, a reply can be
      // later than ping waits for, so most (not all) of five must come back.
      const ping = await pingFrom(w.b.name, '10.60.0.2', 5);
      expect(ping.received, ping.out).toBeGreaterThanOrEqual(3);
      const theirs = await pmds.pop()!.stop();
      const s = bridge.stats(); // after testpmd stopped: nothing is in flight any more
      expect(theirs.rxPackets).toBe(s.toMemif.frames);
      expect(theirs.txPackets).toBe(s.toKernel.frames);
    },
    60_000,
  );

  test('the kernel interface vanishing under the bridge: its thread does not spin, and it closes cleanly', async () => {
    const w = vethPair(fx, 'bv');
    const socket = abstractName('bridge-vanish');
    const bridge = closer.add(
      createMemifBridge({ memif: { role: 'server', socket }, kernel: { ifname: w.ifA, netns: w.a.path } }),
    );
    const client = closer.add(createMemifClient({ socket, reconnectMs: 20 }));
    await Promise.all([bridge.waitUp(AbortSignal.timeout(5000)), client.waitUp(AbortSignal.timeout(5000))]);
    ipIn(w.a.name, 'link', 'del', w.ifA); // takes its peer in B with it
    const before = threadTicks('memif-bridge');
    client.send([Buffer.alloc(64, 1)]); // memif -> a kernel side that is gone: counted as a drop
    await new Promise((r) => setTimeout(r, 500));
    expect(threadTicks('memif-bridge') - before).toBeLessThanOrEqual(2);
    await expect.poll(() => bridge.stats().toKernel.drops).toBe(1);
    expect(bridge.stats().kernelError).toMatch(/\((ENETDOWN|ENXIO|ENODEV)\)$/);
    expect(bridge.up).toBe(true);
  });

  test('a missing interface or namespace is refused with NOT_FOUND naming it', () => {
    const ns = fx.add('bm');
    const socket = abstractName('bridge-missing');
    expect(() =>
      createMemifBridge({
        memif: { role: 'server', socket },
        kernel: { ifname: 'nsm-none0', netns: ns.path },
      }),
    ).toThrow(
      expect.objectContaining({
        code: 5,
        message: expect.stringContaining(`kernel interface nsm-none0 in ${ns.path}`) as unknown,
      }),
    );
    expect(() =>
      createMemifBridge({
        memif: { role: 'server', socket },
        kernel: { ifname: 'lo', netns: '/run/netns/nsm-no-such-ns' },
      }),
    ).toThrow(
      expect.objectContaining({
        code: 5,
        message: expect.stringContaining('/run/netns/nsm-no-such-ns') as unknown,
      }),
    );
    expect(() => createMemifBridge({ memif: { role: 'server', socket }, kernel: { ifname: 'a/b' } })).toThrow(
      expect.objectContaining({ code: 3, message: expect.stringContaining('kernel.ifname') as unknown }),
    );
    // Nothing was left bound: the same socket opens now.
    closer.add(createMemifServer({ socket }));
  });
});

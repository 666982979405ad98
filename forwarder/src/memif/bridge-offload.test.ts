import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterEach, describe, expect, test } from 'vitest';

import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

import { ipIn, NamespaceFixture } from '../kernel/testing/netns-fixture.js';
import { answerArpAndIcmp, createMemifBridge, createMemifClient, type MemifClient } from './index.js';
import { parseL4, synAck, type L4 } from './testing/l4.js';
import { abstractName, Closer } from './testing/names.js';
import { linkStats, vethPair, vxlanOver, type VethPair } from './testing/wires.js';

// The kernel hands a packet socket frames as its stack built them: transport checksums left for
// the "hardware" (checksum offload) and TCP or UDP super-frames (GSO) on a veth. A memif peer
// needs wire frames, so the bridge finishes checksums and segments; this is what these check.
const run = promisify(execFile);
const fx = new NamespaceFixture();
const closer = new Closer();
afterEach(() => {
  try {
    closer.closeAll();
  } finally {
    fx.cleanup();
  }
});

/** The bridge on A's veth end (or a VXLAN device over the pair), B at 10.60.0.1 on the other. */
async function wire(
  tag: string,
  vxlan = false,
  ipv6 = false,
): Promise<{ w: VethPair; client: MemifClient; got: L4[]; ifB: string }> {
  const w = vethPair(fx, tag);
  let [ifA, ifB] = [w.ifA, w.ifB];
  if (vxlan) ifA = ifB = vxlanOver(w, `vo${process.pid % 100000}`, 43, true);
  ipIn(w.b.name, 'addr', 'add', '10.60.0.1/24', 'dev', ifB);
  const socket = abstractName('offload');
  closer.add(
    createMemifBridge({ memif: { role: 'server', socket }, kernel: { ifname: ifA, netns: w.a.path } }),
  );
  const client = closer.add(createMemifClient({ socket, reconnectMs: 20 }));
  const responder = answerArpAndIcmp(client, { ip: '10.60.0.2/24' });
  const mac = Buffer.from(responder.mac.replaceAll(':', ''), 'hex');
  if (ipv6) {
    // The responder speaks no NDP: B gets a static neighbour for fd00:60::2 instead.
    await run('ip', ['netns', 'exec', w.b.name, 'sysctl', '-qw', `net.ipv6.conf.${ifB}.disable_ipv6=0`]);
    ipIn(w.b.name, 'addr', 'add', 'fd00:60::1/64', 'dev', ifB, 'nodad');
    ipIn(w.b.name, 'neigh', 'add', 'fd00:60::2', 'lladdr', responder.mac, 'dev', ifB, 'nud', 'permanent');
  }
  const got: L4[] = [];
  client.on('frames', (frames) => {
    for (const f of frames) {
      const l4 = parseL4(f);
      if (!l4) continue;
      got.push(l4);
      if (l4.syn) client.send([synAck(f, mac)]);
    }
  });
  await client.waitUp(AbortSignal.timeout(5000));
  return { w, client, got, ifB };
}

function python(ns: string, code: string): Promise<unknown> {
  return run('ip', ['netns', 'exec', ns, 'python3', '-c', code], { timeout: 15_000 });
}

describe.skipIf(!isRoot)(rootTitle('memif bridge: checksum and segmentation offloads finished'), () => {
  test('a UDP datagram whose checksum the kernel left to offload arrives with it complete', async () => {
    const { w, got } = await wire('oc');
    await python(
      w.b.name,
      "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x'*101, ('10.60.0.2', 9999))",
    );
    await expect.poll(() => got.length).toBe(1);
    expect(got[0]).toMatchObject({ proto: 17, payload: 101, checksumOk: true });
  });

  test('a UDP GSO super-frame (UDP_SEGMENT) arrives as wire-sized datagrams with their checksums', async () => {
    const { w, got } = await wire('ou');
    const before = linkStats(w.b.name, w.ifB).tx;
    await python(
      w.b.name,
      "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(17, 103, 1000); s.sendto(b'y'*4500, ('10.60.0.2', 9999))",
    );
    await expect.poll(() => got.length).toBe(5);
    expect(got.map((g) => g.payload)).toEqual([1000, 1000, 1000, 1000, 500]);
    expect(got.every((g) => g.checksumOk)).toBe(true);
    // The veth counted one packet for the five (with the ARP exchange before it).
    expect(linkStats(w.b.name, w.ifB).tx - before).toBeLessThan(5);
  });

  test.each([
    ['IPv4 over a veth', false, false],
    ['IPv4 over VXLAN over a veth', true, false],
    ['IPv6 over a veth', false, true],
  ])(
    'TCP from a kernel stack with TSO (%s) arrives as MSS-sized segments with their checksums',
    async (_, vxlan, ipv6) => {
      const { w, got, ifB } = await wire(vxlan ? 'ov' : ipv6 ? 'o6' : 'ot', vxlan, ipv6);
      const before = linkStats(w.b.name, ifB).tx;
      const to = ipv6 ? 'fd00:60::2' : '10.60.0.2';
      await python(
        w.b.name,
        `import socket, time; s=socket.create_connection(('${to}', 7), timeout=5); s.sendall(b'z'*12000); time.sleep(0.3); s.close()`,
      );
      const data = (): L4[] => got.filter((g) => g.proto === 6 && g.payload > 0 && g.v6 === ipv6);
      await expect.poll(() => data().reduce((n, g) => n + g.payload, 0)).toBeGreaterThanOrEqual(12000);
      const mtu = vxlan ? 1450 : 1500;
      expect(data().every((g) => g.checksumOk && g.frameLen <= 14 + mtu)).toBe(true);
      // The segments (retransmissions included: nothing is acknowledged) cover the 12000 bytes.
      const start = data()[0]!.seq;
      const covered = new Set<number>();
      for (const g of data()) for (let k = 0; k < g.payload; k += 10) covered.add((g.seq - start + k) >>> 0);
      for (let k = 0; k < 12000; k += 10) expect(covered.has(k)).toBe(true);
      // Fewer packets left B's interface than segments arrived: the kernel sent super-frames.
      expect(linkStats(w.b.name, ifB).tx - before).toBeLessThan(got.length);
    },
  );
});

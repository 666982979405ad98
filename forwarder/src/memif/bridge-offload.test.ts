import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterEach, describe, expect, test } from 'vitest';

import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

import { ipIn, NamespaceFixture } from '../kernel/testing/netns-fixture.js';
import {
  answerArpAndIcmp,
  createMemifBridge,
  createMemifClient,
  inetChecksum,
  type MemifClient,
} from './index.js';
import { abstractName, Closer } from './testing/names.js';
import { linkStats, vethPair, type VethPair } from './testing/wires.js';

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

const ME = Buffer.from([10, 60, 0, 2]);

/** A received IPv4 TCP or UDP frame: its payload length and whether its checksum is right. */
interface L4 {
  proto: number;
  frameLen: number;
  payload: number;
  checksumOk: boolean;
  seq: number;
  syn: boolean;
  srcPort: number;
}

function parseL4(f: Buffer): L4 | undefined {
  if (f.length < 34 || f.readUInt16BE(12) !== 0x0800) return undefined;
  const ip = f.subarray(14);
  const ihl = (ip[0]! & 15) * 4;
  const proto = ip[9]!;
  if ((proto !== 6 && proto !== 17) || !ip.subarray(16, 20).equals(ME)) return undefined;
  const l4 = ip.subarray(ihl, ip.readUInt16BE(2));
  const pseudo = Buffer.alloc(12);
  ip.copy(pseudo, 0, 12, 20);
  pseudo[9] = proto;
  pseudo.writeUInt16BE(l4.length, 10);
  const hdr = proto === 6 ? (l4[12]! >> 4) * 4 : 8;
  return {
    proto,
    frameLen: f.length,
    payload: l4.length - hdr,
    checksumOk: inetChecksum(Buffer.concat([pseudo, l4])) === 0,
    seq: proto === 6 ? l4.readUInt32BE(4) : 0,
    syn: proto === 6 && (l4[13]! & 0x02) !== 0,
    srcPort: l4.readUInt16BE(0),
  };
}

/** A SYN-ACK (MSS 1460) from 10.60.0.2:7 to the SYN in `syn`, so the peer starts sending. */
function synAck(syn: Buffer, mac: Buffer): Buffer {
  const r = Buffer.alloc(14 + 20 + 24);
  syn.copy(r, 0, 6, 12);
  mac.copy(r, 6);
  r.writeUInt16BE(0x0800, 12);
  const ip = r.subarray(14);
  ip[0] = 0x45;
  ip.writeUInt16BE(44, 2);
  ip[8] = 64;
  ip[9] = 6;
  ME.copy(ip, 12);
  syn.copy(ip, 16, 14 + 12, 14 + 16);
  ip.writeUInt16BE(inetChecksum(ip.subarray(0, 20)), 10);
  const tcp = ip.subarray(20);
  const s = syn.subarray(14 + (syn[14]! & 15) * 4);
  tcp.writeUInt16BE(7, 0);
  tcp.writeUInt16BE(s.readUInt16BE(0), 2);
  tcp.writeUInt32BE(1000, 4);
  tcp.writeUInt32BE((s.readUInt32BE(4) + 1) >>> 0, 8);
  tcp[12] = 6 << 4;
  tcp[13] = 0x12;
  tcp.writeUInt16BE(65535, 14);
  Buffer.from([2, 4, 0x05, 0xb4]).copy(tcp, 20);
  const pseudo = Buffer.alloc(12);
  ip.copy(pseudo, 0, 12, 20);
  pseudo[9] = 6;
  pseudo.writeUInt16BE(24, 10);
  tcp.writeUInt16BE(inetChecksum(Buffer.concat([pseudo, tcp])), 16);
  return r;
}

/** The bridge on A's veth end (or a VXLAN device over the pair), B at 10.60.0.1 on the other. */
async function wire(
  tag: string,
  vxlan = false,
): Promise<{ w: VethPair; client: MemifClient; got: L4[]; ifB: string }> {
  const w = vethPair(fx, tag);
  let [ifA, ifB] = [w.ifA, w.ifB];
  if (vxlan) {
    ipIn(w.a.name, 'addr', 'add', '10.61.0.1/24', 'dev', w.ifA);
    ipIn(w.b.name, 'addr', 'add', '10.61.0.2/24', 'dev', w.ifB);
    ifA = ifB = `vo${process.pid % 100000}`;
    for (const [ns, local, remote] of [
      [w.a.name, '10.61.0.1', '10.61.0.2'],
      [w.b.name, '10.61.0.2', '10.61.0.1'],
    ] as const) {
      ipIn(
        ns,
        'link',
        'add',
        ifA,
        'type',
        'vxlan',
        'id',
        '43',
        'local',
        local,
        'remote',
        remote,
        'dstport',
        '4789',
        'dev', // so that its MTU leaves room for the 50 bytes of VXLAN
        ns === w.a.name ? w.ifA : w.ifB,
      );
      ipIn(ns, 'link', 'set', ifA, 'up');
    }
  }
  ipIn(w.b.name, 'addr', 'add', '10.60.0.1/24', 'dev', ifB);
  const socket = abstractName('offload');
  closer.add(
    createMemifBridge({ memif: { role: 'server', socket }, kernel: { ifname: ifA, netns: w.a.path } }),
  );
  const client = closer.add(createMemifClient({ socket, reconnectMs: 20 }));
  const responder = answerArpAndIcmp(client, { ip: '10.60.0.2/24' });
  const mac = Buffer.from(responder.mac.replaceAll(':', ''), 'hex');
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
    ['a veth', false],
    ['VXLAN over a veth', true],
  ])(
    'TCP from a kernel stack with TSO over %s arrives as MSS-sized segments with their checksums',
    async (_, vxlan) => {
      const { w, got, ifB } = await wire(vxlan ? 'ov' : 'ot', vxlan);
      const before = linkStats(w.b.name, ifB).tx;
      await python(
        w.b.name,
        "import socket, time; s=socket.create_connection(('10.60.0.2', 7), timeout=5); s.sendall(b'z'*12000); time.sleep(0.3); s.close()",
      );
      const data = (): L4[] => got.filter((g) => g.proto === 6 && g.payload > 0);
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

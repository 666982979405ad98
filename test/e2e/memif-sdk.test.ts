/**
 * The memif example of docs/sdk.md, run as written against a real mesh (registry, manager and a
 * forwarder with the kernel data plane, in this process, as root): an endpoint serves a memif per
 * connection with memifEndpoint, a client requests MEMIF and opens its memif with openMemifOf, and
 * frames pass both ways over the one region both share (the forwarder relays only the handshake).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createKernelDataplane } from '@nsm-ts/forwarder/mechanisms';
import {
  answerArpAndIcmp,
  memifEndpoint,
  openMemifOf,
  probeOverMemif,
  type MemifClient,
  type MemifProbe,
} from '@nsm-ts/forwarder/memif';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { createMesh, type Mesh } from '../../bench/src/mesh/mesh.js';
import { registerService } from '../../bench/src/mesh/services.js';

describe.skipIf(!isRoot)(rootTitle('test/e2e/memif-sdk'), () => {
  let mesh: Mesh | undefined;
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await mesh?.close();
    mesh = undefined;
  });

  it('an endpoint with memifEndpoint and a client with openMemifOf pass frames both ways', async () => {
    mesh = await createMesh({
      dataplane: ({ name }) =>
        createKernelDataplane({ name: `sdk-${name}`, tunnelIp: '', vxlanPort: 4789, adopt: false }),
    });
    await registerService(mesh, { name: 'n3', payload: 'ETHERNET', matches: [] });
    const probes: MemifProbe[] = [];
    const atEndpoint: Buffer[] = [];
    await mesh.endpoint(1, {
      name: 'upf',
      serviceNames: ['n3'],
      cidrPrefix: '10.60.3.0/24',
      mechanisms: {
        MEMIF: memifEndpoint({
          onConnection: (conn, memif) => {
            memif.on('frames', (frames) => atEndpoint.push(...frames));
            const ip = conn.context!.ip_context!;
            const responder = answerArpAndIcmp(memif, { ip: ip.dst_ip_addrs[0]! });
            const probe = probeOverMemif(memif, {
              ip: ip.dst_ip_addrs[0]!,
              peer: ip.src_ip_addrs[0]!.split('/')[0]!,
            });
            probes.push(probe);
            return () => {
              probe.stop();
              responder.stop();
            };
          },
        }),
      },
    });
    const nsc = mesh.client(1, { name: 'gnb' });
    const conn = await nsc.request({ networkService: 'n3', mechanisms: ['MEMIF'] });
    expect(conn.mechanism?.type).toBe('MEMIF');
    const memif: MemifClient = openMemifOf(conn);
    closers.push(() => memif.close());
    const responder = answerArpAndIcmp(memif, { ip: conn.context!.ip_context!.src_ip_addrs[0]! });
    closers.push(() => responder.stop());
    const up = await memif.waitUp();
    expect(up.ringSize).toBeGreaterThan(0);
    // The endpoint pings the client over the memif, and the client answers; then raw frames both ways.
    await expect.poll(() => probes[0]?.stats().answered ?? 0, { timeout: 5000 }).toBeGreaterThan(2);
    expect(responder.stats().icmp).toBeGreaterThan(2);
    const frame = Buffer.alloc(3000, 7); // larger than a buffer: it travels chained
    const before = atEndpoint.length;
    expect(memif.send([frame])).toBe(1);
    await expect.poll(() => atEndpoint.slice(before).some((f) => f.equals(frame))).toBe(true);
    await nsc.close(conn);
    await expect.poll(() => memif.up, { timeout: 5000 }).toBe(false);
  });
});

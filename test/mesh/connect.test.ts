/**
 * Connections through real managers and forwarders over gRPC (unix sockets on a node, loopback TCP
 * between nodes), NOOP mechanism: the control plane end to end.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMesh, type Mesh } from '../../bench/src/mesh/mesh.js';
import { registerService } from '../../bench/src/mesh/services.js';

let mesh: Mesh;

beforeEach(async () => {
  mesh = await createMesh({ nodes: 2 });
  await registerService(mesh, { name: 'icmp-responder', payload: 'ETHERNET' });
});

afterEach(async () => {
  await mesh.close();
});

describe('connect', () => {
  it('connects a client to an endpoint on the same node through manager and forwarder (4 segments)', async () => {
    const nse = await mesh.endpoint(1, {
      name: 'nse-a',
      serviceNames: ['icmp-responder'],
      cidrPrefix: '172.16.1.100/31',
    });
    const client = mesh.client(1, { name: 'nsc-a' });
    const conn = await client.request({ networkService: 'icmp-responder', mechanisms: ['NOOP'] });

    const segments = conn.path!.path_segments;
    expect(segments.map((s) => s.name)).toEqual(['nsc-a', 'nsmgr-node-1', 'forwarder-node-1', 'nse-a']);
    for (const seg of segments) {
      expect(seg.token.split('.')).toHaveLength(3);
      expect(Number(seg.expires?.seconds)).toBeGreaterThan(Date.now() / 1000);
    }
    expect(conn.path!.index).toBe(0);
    expect(conn.id).toBe(segments[0]!.id);
    expect(conn.network_service_endpoint_name).toBe('nse-a');
    expect(conn.mechanism?.type).toBe('NOOP');
    expect(conn.context?.ip_context?.src_ip_addrs).toEqual(['172.16.1.101/32']);
    expect(conn.context?.ip_context?.dst_ip_addrs).toEqual(['172.16.1.100/32']);
    expect(nse.connections()).toHaveLength(1);
  });

  it('connects across nodes through both managers and forwarders (6 segments)', async () => {
    await mesh.endpoint(2, { name: 'nse-b', serviceNames: ['icmp-responder'], cidrPrefix: '10.60.1.0/24' });
    const client = mesh.client(1, { name: 'nsc-remote' });
    const conn = await client.request({ networkService: 'icmp-responder', mechanisms: ['NOOP'] });

    const segments = conn.path!.path_segments;
    expect(segments.map((s) => s.name)).toEqual([
      'nsc-remote',
      'nsmgr-node-1',
      'forwarder-node-1',
      'nsmgr-node-2',
      'forwarder-node-2',
      'nse-b',
    ]);
    expect(segments.every((s) => s.token.length > 0)).toBe(true);
    expect(new Set(segments.map((s) => s.id)).size).toBe(6);
    // Decoded as any outside tool would (base64url JSON): SPIFFE IDs, each token for the next hop.
    const claims = segments.map(
      (s) =>
        JSON.parse(Buffer.from(s.token.split('.')[1]!, 'base64url').toString()) as {
          sub: string;
          aud: string[];
        },
    );
    const td = 'spiffe://nsm.test';
    expect(claims.map((c) => c.sub)).toEqual([
      `${td}/ns/default/sa/default`,
      `${td}/nsmgr/node-1`,
      `${td}/forwarder/node-1`,
      `${td}/nsmgr/node-2`,
      `${td}/forwarder/node-2`,
      `${td}/ns/default/pod/nse-b`,
    ]);
    for (let i = 0; i + 1 < claims.length; i++) expect(claims[i]!.aud).toEqual([claims[i + 1]!.sub]);
    // The endpoint's own token is for its caller, who got it back with the answer.
    expect(claims[5]!.aud).toEqual([`${td}/forwarder/node-2`]);
    expect(conn.mechanism?.type).toBe('NOOP');
    expect(conn.context?.ip_context?.dst_ip_addrs).toEqual(['10.60.1.1/32']);
    expect(conn.context?.ip_context?.src_ip_addrs).toEqual(['10.60.1.2/32']);
  });

  it('keeps ids and addresses on refresh and frees everything on close', async () => {
    const nse = await mesh.endpoint(2, {
      name: 'nse-b',
      serviceNames: ['icmp-responder'],
      cidrPrefix: '10.60.1.0/24',
    });
    const client = mesh.client(1, { name: 'nsc-r' });
    const conn = await client.request({ networkService: 'icmp-responder', mechanisms: ['NOOP'] });
    const again = await client.refresh(conn);
    expect(again.path!.path_segments.map((s) => s.id)).toEqual(conn.path!.path_segments.map((s) => s.id));
    expect(again.context?.ip_context?.src_ip_addrs).toEqual(conn.context?.ip_context?.src_ip_addrs);

    await client.close(again);
    expect(nse.connections()).toHaveLength(0);
    for (const node of mesh.nodes) {
      expect(node.manager.instance()!.connections()).toBe(0);
      expect(node.forwarder.instance()!.connections()).toBe(0);
    }
  });
});

/** Service chaining: client → firewall → vpn-gateway, selected by source_selector, on one and two nodes. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMesh, type Mesh } from '../../bench/src/mesh/mesh.js';
import { registerService } from '../../bench/src/mesh/services.js';

let mesh: Mesh;

beforeEach(async () => {
  mesh = await createMesh({ nodes: 2 });
  await registerService(mesh, {
    name: 'secure-intranet',
    payload: 'IP',
    matches: [
      {
        source_selector: { app: 'firewall' },
        routes: [{ destination_selector: { app: 'vpn-gateway' }, weight: 0 }],
        fallthrough: false,
        metadata: null,
      },
      {
        source_selector: {},
        routes: [{ destination_selector: { app: 'firewall' }, weight: 0 }],
        fallthrough: false,
        metadata: null,
      },
    ],
  });
});

afterEach(async () => {
  await mesh.close();
});

describe('passthrough service chain', () => {
  it('goes client → firewall → vpn-gateway on one node, addresses from the gateway', async () => {
    await mesh.endpoint(1, {
      name: 'vpn-gateway',
      serviceNames: ['secure-intranet'],
      labels: { app: 'vpn-gateway' },
      cidrPrefix: '172.16.1.0/28',
    });
    const firewall = await mesh.endpoint(1, {
      name: 'firewall',
      serviceNames: ['secure-intranet'],
      labels: { app: 'firewall' },
      passthrough: { mechanisms: ['NOOP'] },
    });
    const client = mesh.client(1, { name: 'office' });
    const conn = await client.request({ networkService: 'secure-intranet', mechanisms: ['NOOP'] });

    expect(conn.path!.path_segments.map((s) => s.name)).toEqual([
      'office',
      'nsmgr-node-1',
      'forwarder-node-1',
      'firewall',
      'nsmgr-node-1',
      'forwarder-node-1',
      'vpn-gateway',
    ]);
    expect(conn.network_service_endpoint_name).toBe('firewall');
    expect(conn.labels['app']).toBeUndefined();
    expect(conn.context?.ip_context?.dst_ip_addrs).toEqual(['172.16.1.1/32']);
    expect(conn.context?.ip_context?.src_ip_addrs).toEqual(['172.16.1.2/32']);
    expect(firewall.connections()).toHaveLength(1);

    await client.close(conn);
    await expect.poll(() => firewall.connections().length).toBe(0);
    for (const node of mesh.nodes) expect(node.forwarder.instance()!.connections()).toBe(0);
  });

  it('chains across nodes: firewall on node 2, gateway on node 1', async () => {
    await mesh.endpoint(1, {
      name: 'vpn-gateway',
      serviceNames: ['secure-intranet'],
      labels: { app: 'vpn-gateway' },
      cidrPrefix: '172.16.2.0/28',
    });
    await mesh.endpoint(2, {
      name: 'firewall',
      serviceNames: ['secure-intranet'],
      labels: { app: 'firewall' },
      passthrough: { mechanisms: ['NOOP'] },
    });
    const client = mesh.client(1, { name: 'office' });
    const conn = await client.request({ networkService: 'secure-intranet', mechanisms: ['NOOP'] });
    expect(conn.path!.path_segments.map((s) => s.name)).toEqual([
      'office',
      'nsmgr-node-1',
      'forwarder-node-1',
      'nsmgr-node-2',
      'forwarder-node-2',
      'firewall',
      'nsmgr-node-2',
      'forwarder-node-2',
      'nsmgr-node-1',
      'forwarder-node-1',
      'vpn-gateway',
    ]);
    const again = await client.refresh(conn);
    expect(again.path!.path_segments.map((s) => s.id)).toEqual(conn.path!.path_segments.map((s) => s.id));
    expect(again.context?.ip_context?.src_ip_addrs).toEqual(conn.context?.ip_context?.src_ip_addrs);
  });

  it('fails with the service and labels named when the next element of the chain is missing', async () => {
    await mesh.endpoint(1, {
      name: 'firewall',
      serviceNames: ['secure-intranet'],
      labels: { app: 'firewall' },
      passthrough: { mechanisms: ['NOOP'] },
    });
    const client = mesh.client(1, { name: 'office' });
    await expect(client.request({ networkService: 'secure-intranet', mechanisms: ['NOOP'] })).rejects.toThrow(
      /secure-intranet.*app=firewall/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { newConnection, newRequest } from '../../api/builders.js';
import type { Connection } from '../../api/types.js';
import { toHandler } from '../../core/chain.js';
import { createContext } from '../../core/context.js';
import { Code } from '../../core/errors.js';
import { vxlanMechanism } from '../../networkservice/common/mechanisms/vxlan.js';
import { rejectionOf } from '../../testing/errors.js';
import { AVOID_VNIS_PARAMETER, EXTERNAL_VNF_PARAMETER, externalVxlanEndpoint } from './gateway.js';
import { parseExternalVxlan } from './vxlan-url.js';

const ctx = createContext();
const ext = parseExternalVxlan(
  'vxlan://198.18.0.50?vni=100-101&ip=10.60.0.1/24&routes=10.70.0.0/24&mtu=1400',
);

function setup() {
  const handler = toHandler([externalVxlanEndpoint('vnf-fw', ext)]);
  const request = (client: string, params: Record<string, string> = {}, id = `${client}-gw`) => {
    const mechanism = vxlanMechanism({ srcIp: '198.18.0.11', srcPort: 4789 });
    Object.assign(mechanism.parameters, params);
    const conn = newConnection({
      id,
      network_service: 'firewall',
      mechanism,
      path: {
        index: 1,
        path_segments: [
          { name: client, id: `${client}-id`, token: '', expires: null, metrics: {} },
          { name: 'vnf-fw', id, token: '', expires: null, metrics: {} },
        ],
      },
    });
    return handler.request(ctx, newRequest(conn));
  };
  return { handler, request };
}

describe('externalVxlanEndpoint', () => {
  it('answers with the VTEP, a VNI and the addresses of its slot', async () => {
    const { request } = setup();
    const conn = await request('nsc-a');
    expect(conn.mechanism?.parameters).toMatchObject({
      src_ip: '198.18.0.11',
      dst_ip: '198.18.0.50',
      dst_port: '4789',
      vni: '100',
      MTU: '1400',
      [EXTERNAL_VNF_PARAMETER]: 'vnf-fw',
    });
    expect(conn.context?.ip_context).toMatchObject({
      src_ip_addrs: ['10.60.0.2/24'],
      dst_ip_addrs: ['10.60.0.1/24'],
      src_routes: [{ prefix: '10.70.0.0/24', nextHop: '10.60.0.1' }],
    });
  });

  it('gives every client its own VNI and address, keeps them on refresh, and refuses when all are held', async () => {
    const { request } = setup();
    const a = await request('nsc-a');
    const b = await request('nsc-b');
    expect([a, b].map((c) => c.mechanism?.parameters['vni'])).toEqual(['100', '101']);
    expect(b.context?.ip_context?.src_ip_addrs).toEqual(['10.60.0.3/24']);
    expect((await request('nsc-a')).mechanism?.parameters['vni']).toBe('100');
    const err = await rejectionOf(request('nsc-c'));
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(err.message).toContain(
      'external endpoint vnf-fw: no free slot of 2 (VNIs 100-101 held by nsc-a, nsc-b)',
    );
    expect(err.message).toContain('declare a wider vni range');
  });

  it('frees a slot on close and gives a client its last slot back when it is free', async () => {
    const { handler, request } = setup();
    const a = await request('nsc-a');
    const b = await request('nsc-b');
    await handler.close(ctx, a);
    expect((await request('nsc-c')).mechanism?.parameters['vni']).toBe('100');
    await handler.close(ctx, b);
    // nsc-b held 101 before: it gets it again.
    expect((await request('nsc-b')).mechanism?.parameters['vni']).toBe('101');
  });

  it("keeps a client's slot when an old path of it closes after a reselect came as another connection", async () => {
    const { handler, request } = setup();
    const old = await request('nsc-a', {}, 'old-path');
    const now = await request('nsc-a', {}, 'new-path');
    expect(now.mechanism?.parameters['vni']).toBe(old.mechanism?.parameters['vni']);
    await handler.close(ctx, old);
    // Still held by the new path: another client gets the other VNI.
    expect((await request('nsc-b')).mechanism?.parameters['vni']).toBe('101');
    await handler.close(ctx, now);
    expect((await request('nsc-c')).mechanism?.parameters['vni']).toBe('100');
  });

  it('moves a client off a VNI its node has taken', async () => {
    const { request } = setup();
    const conn = await request('nsc-a', { [AVOID_VNIS_PARAMETER]: '100' });
    expect(conn.mechanism?.parameters['vni']).toBe('101');
    expect(conn.mechanism?.parameters[AVOID_VNIS_PARAMETER]).toBeUndefined();
    const err = await rejectionOf(request('nsc-b', { [AVOID_VNIS_PARAMETER]: '100' }));
    expect(err.message).toContain("VNI 100 taken on the client's node");
  });

  it('refuses a mechanism that is not VXLAN REMOTE, and a VTEP of the other address family', async () => {
    const handler = toHandler([externalVxlanEndpoint('vnf-fw', ext)]);
    const local = newConnection({ id: 'x', mechanism: { cls: 'LOCAL', type: 'KERNEL', parameters: {} } });
    const err = await rejectionOf(handler.request(ctx, newRequest(local)));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('is reached over VXLAN only');
    const v6: Connection = newConnection({ id: 'y', mechanism: vxlanMechanism({ srcIp: 'fd00::11' }) });
    const err6 = await rejectionOf(handler.request(ctx, newRequest(v6)));
    expect(err6.code).toBe(Code.FAILED_PRECONDITION);
    expect(err6.message).toContain('not in the address family');
  });
});

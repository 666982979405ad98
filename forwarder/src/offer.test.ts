import { describe, expect, it } from 'vitest';
import { newMechanism, newRequest } from '@nsm-ts/sdk/api';
import { createContext } from '@nsm-ts/sdk/core';
import { NsmError } from '@nsm-ts/sdk/core';
import { withClientUrl } from '@nsm-ts/sdk/elements';
import { AVOID_VNIS_PARAMETER } from '@nsm-ts/sdk';
import { Code } from '@nsm-ts/sdk/core';
import { forwarderOffer, LOCAL_MECHANISM_PARAMETER, withAvoidedVnis } from './offer.js';

const offer = forwarderOffer({ tunnelIp: '198.18.0.11', vxlanPort: 4789, localTypes: ['KERNEL', 'NOOP'] });
const towards = (url: string) => withClientUrl(createContext(), url);
const types = (ms: { type: string }[]): string[] => ms.map((m) => m.type);

describe('forwarderOffer', () => {
  it('names the VNIs taken on this node in a renegotiated VXLAN offer', () => {
    const req = newRequest({ mechanism: newMechanism('KERNEL', 'LOCAL') });
    const [vxlan] = offer(withAvoidedVnis(towards('tcp://198.18.0.1:40000'), [5001, 5003]), req);
    expect(vxlan!.parameters[AVOID_VNIS_PARAMETER]).toBe('5001,5003');
    expect(
      offer(towards('tcp://198.18.0.1:40000'), req)[0]!.parameters[AVOID_VNIS_PARAMETER],
    ).toBeUndefined();
  });

  it('refuses an endpoint registered with its vxlan:// declaration, naming the gateway it needs', () => {
    const req = newRequest({
      network_service_endpoint_name: 'legacy-fw',
      mechanism: newMechanism('KERNEL', 'LOCAL'),
    });
    let err: unknown;
    try {
      offer(towards('vxlan://192.0.2.50?vni=1&ip=10.0.0.1/24'), req);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NsmError);
    expect((err as NsmError).code).toBe(Code.FAILED_PRECONDITION);
    expect((err as NsmError).message).toContain(
      'an external VNF is served by a gateway endpoint (nse with NSM_EXTERNAL_URL)',
    );
  });

  it('offers VXLAN from its tunnel IP toward another node, naming the client mechanism', () => {
    const req = newRequest({ mechanism: newMechanism('NOOP', 'LOCAL') });
    const [vxlan, ...rest] = offer(towards('tcp://198.18.0.12:5001'), req);
    expect(rest).toEqual([]);
    expect(vxlan).toMatchObject({ type: 'VXLAN', cls: 'REMOTE' });
    expect(vxlan!.parameters).toEqual({
      src_ip: '198.18.0.11',
      src_port: '4789',
      [LOCAL_MECHANISM_PARAMETER]: 'NOOP',
    });
  });

  it('offers VLAN with the pool and the VLAN toward another node for an SR-IOV client, and KERNEL alone at its far end', () => {
    const sriov = newRequest({
      labels: { sriovToken: 'worker.domain/10G' },
      mechanism: newMechanism('KERNEL', 'LOCAL', { tokenID: 't-1', 'vlan-id': '100' }),
    });
    expect(offer(towards('tcp://198.18.0.12:5001'), sriov)).toEqual([
      newMechanism('VLAN', 'REMOTE', {
        sriov_pool: 'worker.domain/10G',
        [LOCAL_MECHANISM_PARAMETER]: 'KERNEL',
        'vlan-id': '100',
      }),
    ]);
    const far = newRequest({
      mechanism: newMechanism('VLAN', 'REMOTE', { sriov_pool: 'worker.domain/10G' }),
    });
    const withMemif = forwarderOffer({
      tunnelIp: '198.18.0.12',
      vxlanPort: 4789,
      localTypes: ['KERNEL', 'MEMIF', 'NOOP'],
    });
    expect(types(withMemif(towards('unix:///run/nse.sock'), far))).toEqual(['KERNEL']);
  });

  it('offers a local endpoint the mechanism the local client chose', () => {
    const req = newRequest({ mechanism: newMechanism('KERNEL', 'LOCAL', { name: 'nsm-1' }) });
    expect(types(offer(towards('unix:///run/nse.sock'), req))).toEqual(['KERNEL']);
    // A memif client can also be joined to a kernel endpoint, and a kernel client to a memif
    // endpoint (through the packet loop), when the forwarder builds both.
    const withMemif = forwarderOffer({
      tunnelIp: '198.18.0.11',
      vxlanPort: 4789,
      localTypes: ['KERNEL', 'MEMIF', 'NOOP'],
    });
    const memif = newRequest({ mechanism: newMechanism('MEMIF', 'LOCAL') });
    expect(types(withMemif(towards('unix:///run/nse.sock'), memif))).toEqual(['MEMIF', 'KERNEL']);
    expect(types(withMemif(towards('unix:///run/nse.sock'), req))).toEqual(['KERNEL', 'MEMIF']);
  });

  it('at the far end of a tunnel offers the client kind first, else every local kind', () => {
    const noop = newRequest({
      mechanism: newMechanism('VXLAN', 'REMOTE', { [LOCAL_MECHANISM_PARAMETER]: 'NOOP' }),
    });
    expect(types(offer(towards('unix:///run/nse.sock'), noop))).toEqual(['NOOP', 'KERNEL']);
    const upstream = newRequest({ mechanism: newMechanism('VXLAN', 'REMOTE') });
    expect(types(offer(towards('unix:///run/nse.sock'), upstream))).toEqual(['KERNEL', 'NOOP']);
  });

  it('refuses a remote endpoint without a tunnel IP, naming the setting', () => {
    const bare = forwarderOffer({ tunnelIp: '', vxlanPort: 4789, localTypes: ['KERNEL'] });
    expect(() =>
      bare(towards('tcp://198.18.0.12:5001'), newRequest({ network_service_endpoint_name: 'far' })),
    ).toThrow(NsmError);
    expect(() =>
      bare(towards('tcp://198.18.0.12:5001'), newRequest({ network_service_endpoint_name: 'far' })),
    ).toThrow(/"far".*NSM_TUNNEL_IP/);
  });
});

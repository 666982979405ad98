import { describe, expect, it } from 'vitest';
import { Code, NsmError } from '../../core/errors.js';
import { clientAddress, isExternalVxlanUrl, parseExternalVxlan } from './vxlan-url.js';

function problem(url: string): string {
  try {
    parseExternalVxlan(url);
  } catch (err) {
    expect(err).toBeInstanceOf(NsmError);
    expect((err as NsmError).code).toBe(Code.INVALID_ARGUMENT);
    return (err as Error).message;
  }
  throw new Error(`${url} was accepted`);
}

describe('parseExternalVxlan', () => {
  it('reads a full declaration', () => {
    const ext = parseExternalVxlan(
      'vxlan://198.18.0.50:8472?vni=5000-5009&ip=10.60.0.1/24&pool=10.60.0.16/28&routes=10.70.0.0/24,10.71.0.0/16&mtu=1400',
    );
    expect(ext).toMatchObject({
      vtep: '198.18.0.50',
      port: 8472,
      vnis: { first: 5000, last: 5009 },
      vnfIp: '10.60.0.1/24',
      pool: '10.60.0.16/28',
      routes: ['10.70.0.0/24', '10.71.0.0/16'],
      mtu: 1400,
      capacity: 10,
    });
  });

  it('defaults the port to 4789 and the pool to the subnet of ip, and takes IPv6 VTEPs in brackets', () => {
    const ext = parseExternalVxlan('vxlan://[fd00::50]?vni=7&ip=fd10::1/64');
    expect(ext).toMatchObject({
      vtep: 'fd00::50',
      port: 4789,
      vnis: { first: 7, last: 7 },
      pool: 'fd10::/64',
    });
    expect(ext.capacity).toBe(1);
    expect(isExternalVxlanUrl('vxlan://x')).toBe(true);
    expect(isExternalVxlanUrl('tcp://1.2.3.4:5')).toBe(false);
  });

  it('numbers client addresses by slot, skipping the VNF and the network address', () => {
    const ext = parseExternalVxlan('vxlan://198.18.0.50?vni=100-103&ip=10.60.0.2/29');
    // Hosts of 10.60.0.0/29: .1 .. .6; .2 is the VNF's.
    expect([0, 1, 2, 3].map((i) => clientAddress(ext, i))).toEqual([
      '10.60.0.1/29',
      '10.60.0.3/29',
      '10.60.0.4/29',
      '10.60.0.5/29',
    ]);
    expect(() => clientAddress(ext, 4)).toThrow(/slot 4 is outside 0..3/);
  });

  it('limits the capacity to the addresses the pool has', () => {
    expect(parseExternalVxlan('vxlan://198.18.0.50?vni=100-199&ip=10.60.0.1/30').capacity).toBe(1);
  });

  it.each([
    ['tcp://198.18.0.50?vni=1&ip=10.0.0.1/24', 'not a vxlan:// URL'],
    ['vxlan://vnf.example?vni=1&ip=10.0.0.1/24', 'the VTEP "vnf.example" is not an IP address'],
    ['vxlan://198.18.0.50:0?vni=1&ip=10.0.0.1/24', 'the port is "0"'],
    ['vxlan://198.18.0.50?ip=10.0.0.1/24', 'no vni'],
    ['vxlan://198.18.0.50?vni=0&ip=10.0.0.1/24', 'vni is "0"'],
    ['vxlan://198.18.0.50?vni=20000000&ip=10.0.0.1/24', 'vni is "20000000"'],
    ['vxlan://198.18.0.50?vni=9-3&ip=10.0.0.1/24', 'vni is "9-3"'],
    ['vxlan://198.18.0.50?vni=1', 'no ip'],
    ['vxlan://198.18.0.50?vni=1&ip=10.0.0.1', 'ip: invalid CIDR "10.0.0.1"'],
    ['vxlan://198.18.0.50?vni=1&ip=10.0.0.1/32', 'is a single address'],
    ['vxlan://198.18.0.50?vni=1&ip=10.0.0.0/24', "is the subnet's network or broadcast address"],
    ['vxlan://198.18.0.50?vni=1&ip=10.0.0.255/24', "is the subnet's network or broadcast address"],
    ['vxlan://198.18.0.50:70000?vni=1&ip=10.0.0.1/24', 'the port is "70000", not an integer 1..65535'],
    ['vxlan://198.18.0.50?vni=1&ip=10.0.0.1/24&pool=10.9.0.0/24', "outside the VNF's subnet 10.0.0.0/24"],
    ['vxlan://198.18.0.50?vni=1&ip=10.0.0.1/24&pool=fd00::/64', 'not in the family of ip'],
    ['vxlan://198.18.0.50?vni=1&ip=10.0.0.1/24&routes=10.7.0.0/33', 'routes: invalid CIDR'],
    ['vxlan://198.18.0.50?vni=1&ip=10.0.0.1/24&mtu=99', 'mtu is "99"'],
    ['vxlan://198.18.0.50?vni=1&ip=10.0.0.1/24&colour=red', 'unknown parameter "colour"'],
    ['vxlan://198.18.0.50?vni=1&vni=2&ip=10.0.0.1/24', 'parameter "vni" is given twice'],
    ['vxlan://198.18.0.50/path?vni=1&ip=10.0.0.1/24', 'path'],
    ['vxlan://198.18.0.50?vni=1&ip=10.0.0.1/31&pool=10.0.0.1/32', 'has no address left'],
  ])('refuses %s', (url, message) => {
    const text = problem(url);
    expect(text).toContain(message);
    expect(text).toContain('expected vxlan://<vtep>');
  });
});

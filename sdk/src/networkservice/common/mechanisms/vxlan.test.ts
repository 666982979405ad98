import { describe, expect, it } from 'vitest';
import { newMechanism } from '../../../api/builders.js';
import { Code } from '../../../core/errors.js';
import { createVniAllocator, vniParity } from './vxlan-vni.js';
import { isVxlan, setVxlanParameters, vxlanMechanism, vxlanParameters } from './vxlan.js';
import { errorOf } from '../../../testing/errors.js';

describe('vxlan mechanism', () => {
  it('builds, extends and reads typed parameters', () => {
    const m = vxlanMechanism({ srcIp: '192.168.0.1', srcPort: 4789 });
    expect(m).toEqual({
      type: 'VXLAN',
      cls: 'REMOTE',
      parameters: { src_ip: '192.168.0.1', src_port: '4789' },
    });
    setVxlanParameters(m, { dstIp: 'FD00:0::2', dstPort: 4789, vni: 42, mtu: 1450 });
    expect(m.parameters).toMatchObject({ dst_ip: 'fd00::2', dst_port: '4789', vni: '42', MTU: '1450' });
    expect(isVxlan(m)).toBe(true);
    expect(vxlanParameters(m)).toEqual({
      srcIp: '192.168.0.1',
      srcPort: 4789,
      dstIp: 'fd00::2',
      dstPort: 4789,
      vni: 42,
      mtu: 1450,
    });
  });

  it.each([
    [{ vni: '16777216' }, 'VXLAN parameter "vni" is "16777216": expected a VNI 0..16777215 (24 bits)'],
    [{ src_port: '70000' }, 'VXLAN parameter "src_port" is "70000": expected a UDP port 0..65535'],
    [{ dst_port: '-1' }, 'VXLAN parameter "dst_port" is "-1": expected a UDP port 0..65535'],
    [{ src_ip: '10.0.0' }, 'VXLAN parameter "src_ip" is "10.0.0": expected an IPv4 or IPv6 address'],
  ])('rejects malformed parameters %j', (parameters, message) => {
    const err = errorOf(() => vxlanParameters(newMechanism('VXLAN', 'REMOTE', parameters)));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toBe(message);
  });
});

describe('VNI allocator', () => {
  it('gives even VNIs when src <= dst and odd ones otherwise, within 24 bits', () => {
    expect(vniParity('10.0.0.1', '10.0.0.2')).toBe(0);
    expect(vniParity('10.0.0.1', '10.0.0.1')).toBe(0);
    expect(vniParity('10.0.0.10', '10.0.0.9')).toBe(1);
    const vnis = createVniAllocator();
    for (let i = 0; i < 50; i++) {
      const even = vnis.allocate(`e${i}`, '10.0.0.1', '10.0.0.2');
      const odd = vnis.allocate(`o${i}`, '10.0.0.2', '10.0.0.1');
      expect(even % 2).toBe(0);
      expect(odd % 2).toBe(1);
      for (const v of [even, odd]) expect(v >= 1 && v <= 0xffffff).toBe(true);
    }
    expect(vnis.size).toBe(100);
  });

  it('keeps a VNI across refreshes and releases it on close', () => {
    let n = 0;
    const vnis = createVniAllocator({ random: () => n++ });
    const a = vnis.allocate('a', '10.0.0.1', '10.0.0.2');
    expect(vnis.allocate('a', '10.0.0.1', '10.0.0.2')).toBe(a);
    expect(vnis.vniOf('a')).toBe(a);
    vnis.release('a');
    expect(vnis.vniOf('a')).toBeUndefined();
    expect(vnis.size).toBe(0);
  });

  it('never gives the same VNI twice for one source, but may for another source', () => {
    const vnis = createVniAllocator({ random: () => 7 }); // always proposes 14 (even) / 15 (odd)
    expect(vnis.allocate('a', '10.0.0.1', '10.0.0.2')).toBe(14);
    const b = vnis.allocate('b', '10.0.0.1', '10.0.0.3');
    expect(b).not.toBe(14);
    expect(b % 2).toBe(0);
    expect(vnis.allocate('c', '10.0.0.5', '10.0.0.6')).toBe(14);
    vnis.release('a');
    expect(vnis.allocate('d', '10.0.0.1', '10.0.0.2')).toBe(14);
  });

  it('honours a requested VNI from a replayed request when valid and free', () => {
    const vnis = createVniAllocator();
    expect(vnis.allocate('a', '10.0.0.1', '10.0.0.2', 1000)).toBe(1000);
    expect(vnis.allocate('b', '10.0.0.1', '10.0.0.2', 1000)).not.toBe(1000); // taken
    expect(vnis.allocate('c', '10.0.0.1', '10.0.0.2', 1001) % 2).toBe(0); // wrong parity
    expect(vnis.allocate('d', '10.0.0.1', '10.0.0.2', 0x1000000)).toBeLessThanOrEqual(0xffffff);
  });

  it('reallocates when the tunnel endpoints of a connection change', () => {
    const vnis = createVniAllocator();
    const a = vnis.allocate('a', '10.0.0.1', '10.0.0.2');
    const moved = vnis.allocate('a', '10.0.0.3', '10.0.0.2');
    expect(moved % 2).toBe(1);
    expect(vnis.size).toBe(1);
    expect(vnis.allocate('b', '10.0.0.1', '10.0.0.2', a)).toBe(a); // the old one was freed
  });

  it('rejects bad addresses and reports exhaustion', () => {
    const vnis = createVniAllocator();
    expect(errorOf(() => vnis.allocate('a', 'nope', '10.0.0.2')).message).toBe(
      'VXLAN src_ip "nope" is not an IPv4 or IPv6 address',
    );
    const full = createVniAllocator({ maxVni: 8 });
    // Odd VNIs up to 8 are 1, 3, 5, 7: four connections fill them, whatever the random proposals.
    const got = [0, 1, 2, 3].map((i) => full.allocate(`c${i}`, '10.0.0.2', '10.0.0.1')).sort();
    expect(got).toEqual([1, 3, 5, 7]);
    expect(full.allocate('even', '10.0.0.1', '10.0.0.2')).toBeLessThanOrEqual(8);
    const err = errorOf(() => full.allocate('last', '10.0.0.2', '10.0.0.1'));
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(err.message).toContain('no free odd VXLAN VNI left for source 10.0.0.2');
  });
});

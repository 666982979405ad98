import { describe, expect, it } from 'vitest';
import { Code } from '../../core/errors.js';
import {
  contains,
  containsCidr,
  formatCidr,
  hostCidr,
  hosts,
  isReserved,
  overlaps,
  parseCidr,
  parseCidrOrAddress,
  sizeOf,
} from './cidr.js';
import { compareIp, formatIp, parseIp, tryParseIp } from './ip.js';
import { errorOf } from '../../testing/errors.js';

describe('ip', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['fd00::1', 'fd00::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8::', '2001:db8::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
  ])('parses and formats %s', (text, canonical) => {
    expect(formatIp(parseIp(text))).toBe(canonical);
  });

  it.each([
    '',
    '10.0.0',
    '10.0.0.256',
    '10.0.0.01',
    '10.0.0.1.2',
    'a.b.c.d',
    '1::2::3',
    '1:2:3',
    ':::',
    '1.2.3.4::',
    'fe80::1%eth0',
    '12345::',
    '1:2:3:4:5:6:7:8:9',
  ])('rejects %j with INVALID_ARGUMENT naming it', (text) => {
    expect(tryParseIp(text)).toBeUndefined();
    const err = errorOf(() => parseIp(text));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain(`"${text}"`);
    expect(err.message).toMatch(/expected IPv4 a\.b\.c\.d/);
  });

  it('orders IPv4 before IPv6 and numerically', () => {
    const list = ['fd00::1', '10.0.0.2', '10.0.0.10', '::1'].map(parseIp).sort(compareIp).map(formatIp);
    expect(list).toEqual(['10.0.0.2', '10.0.0.10', '::1', 'fd00::1']);
  });
});

describe('cidr', () => {
  it('parses IPv4 and IPv6 prefixes, keeping the written address', () => {
    const c = parseCidr('10.60.1.5/24');
    expect(formatCidr(c)).toBe('10.60.1.0/24');
    expect(formatIp({ family: 4, value: c.address })).toBe('10.60.1.5');
    expect(sizeOf(c)).toBe(256n);
    expect(formatCidr(parseCidr('fd00:0::/64'))).toBe('fd00::/64');
    expect(sizeOf(parseCidr('::/0'))).toBe(1n << 128n);
  });

  it.each([
    ['10.0.0.0/33', 'invalid CIDR "10.0.0.0/33": prefix length must be 0..32 for IPv4'],
    ['fd00::/129', 'invalid CIDR "fd00::/129": prefix length must be 0..128 for IPv6'],
    ['10.0.0.0/-1', 'prefix length must be 0..32 for IPv4'],
    ['10.0.0.0/', 'prefix length must be 0..32 for IPv4'],
    ['10.0.0.0/08', 'prefix length must be 0..32 for IPv4'],
    ['10.0.0.0', 'expected address/prefix-length such as 10.0.0.0/24'],
    ['10.0.0.300/24', '"10.0.0.300" is not an IPv4'],
    ['banana/24', '"banana" is not an IPv4'],
  ])('rejects %s', (text, message) => {
    const err = errorOf(() => parseCidr(text));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain(message);
  });

  it('accepts bare addresses as host prefixes where a prefix list allows it', () => {
    expect(formatCidr(parseCidrOrAddress('10.0.0.7'))).toBe('10.0.0.7/32');
    expect(formatCidr(parseCidrOrAddress('fd00::7'))).toBe('fd00::7/128');
    expect(errorOf(() => parseCidrOrAddress('nope')).message).toContain('invalid prefix "nope"');
  });

  it('tests containment and overlap across families', () => {
    const net = parseCidr('10.0.0.0/8');
    expect(contains(net, parseIp('10.255.0.1'))).toBe(true);
    expect(contains(net, parseIp('11.0.0.0'))).toBe(false);
    expect(contains(parseCidr('::/0'), parseIp('10.0.0.1'))).toBe(false);
    expect(containsCidr(net, parseCidr('10.1.0.0/16'))).toBe(true);
    expect(containsCidr(parseCidr('10.1.0.0/16'), net)).toBe(false);
    expect(overlaps(parseCidr('10.1.0.0/16'), net)).toBe(true);
    expect(overlaps(parseCidr('10.0.0.0/25'), parseCidr('10.0.0.128/25'))).toBe(false);
    expect(overlaps(parseCidr('fd00::/64'), parseCidr('fd00::1/128'))).toBe(true);
  });

  it('iterates usable hosts: no network/broadcast below /31, both of a /31, the single /32', () => {
    const list = (text: string): string[] => [...hosts(parseCidr(text))].map(formatIp);
    expect(list('10.0.0.0/30')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(list('172.16.1.100/31')).toEqual(['172.16.1.100', '172.16.1.101']);
    expect(list('10.0.0.9/32')).toEqual(['10.0.0.9']);
    expect(list('fd00::/126')).toEqual(['fd00::1', 'fd00::2', 'fd00::3']);
    expect(list('fd00::/127')).toEqual(['fd00::', 'fd00::1']);
    expect(isReserved(parseCidr('10.0.0.0/24'), parseIp('10.0.0.255').value)).toBe(true);
  });

  it('formats host prefixes', () => {
    expect(hostCidr(parseIp('10.0.0.1'))).toBe('10.0.0.1/32');
    expect(hostCidr(parseIp('fd00::1'))).toBe('fd00::1/128');
  });
});

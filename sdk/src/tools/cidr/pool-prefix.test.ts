import { describe, expect, it } from 'vitest';
import { Code } from '../../core/errors.js';
import { errorOf } from '../../testing/errors.js';
import { formatCidr, parseCidr } from './cidr.js';
import { parsePoolPrefix, poolPrefixProblem } from './pool-prefix.js';

const V4 =
  'expected a unicast prefix outside 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4 and 255.255.255.255/32, such as 10.60.1.0/24';
const V6 = 'expected a unicast prefix outside ::/128, ::1/128, fe80::/10 and ff00::/8, such as fd00::/64';

describe('poolPrefixProblem', () => {
  it.each([
    [
      '10.0.0.1/32',
      'holds a single address; expected /31 or shorter: point-to-point IPAM needs 2 addresses per connection',
    ],
    [
      'fd00::1/128',
      'holds a single address; expected /127 or shorter: point-to-point IPAM needs 2 addresses per connection',
    ],
    ['0.0.0.0/0', `is the default route: it covers every IPv4 address, reserved ranges included; ${V4}`],
    ['::/0', `is the default route: it covers every IPv6 address, reserved ranges included; ${V6}`],
    ['0.0.0.0/8', `lies in the unspecified ("this network") range 0.0.0.0/8; ${V4}`],
    ['0.1.2.0/24', `lies in the unspecified ("this network") range 0.0.0.0/8; ${V4}`],
    ['127.0.0.0/8', `lies in the loopback range 127.0.0.0/8; ${V4}`],
    ['127.0.0.1/32', `lies in the loopback range 127.0.0.0/8; ${V4}`],
    ['169.254.0.0/16', `lies in the link-local range 169.254.0.0/16; ${V4}`],
    ['169.254.10.0/24', `lies in the link-local range 169.254.0.0/16; ${V4}`],
    ['224.0.0.0/4', `lies in the multicast range 224.0.0.0/4; ${V4}`],
    ['239.1.0.0/16', `lies in the multicast range 224.0.0.0/4; ${V4}`],
    ['255.255.255.255/32', `is the broadcast address 255.255.255.255; ${V4}`],
    ['::/128', `is the unspecified address ::; ${V6}`],
    ['::1/128', `is the loopback address ::1; ${V6}`],
    ['fe80::/10', `lies in the link-local range fe80::/10; ${V6}`],
    ['fe80::/64', `lies in the link-local range fe80::/10; ${V6}`],
    ['ff00::/8', `lies in the multicast range ff00::/8; ${V6}`],
    ['ff02::/16', `lies in the multicast range ff00::/8; ${V6}`],
  ])('refuses %s, naming the range', (text, problem) => {
    expect(poolPrefixProblem(parseCidr(text), text)).toBe(`prefix "${text}" ${problem}`);
  });

  it.each([
    ['126.0.0.0/7', 'overlaps the loopback range 127.0.0.0/8'],
    [
      '0.0.0.0/1',
      'overlaps the unspecified ("this network") range 0.0.0.0/8 and the loopback range 127.0.0.0/8',
    ],
    ['169.254.0.0/15', 'overlaps the link-local range 169.254.0.0/16'],
    ['192.0.0.0/2', 'overlaps the multicast range 224.0.0.0/4 and the broadcast address 255.255.255.255'],
    ['255.255.255.254/31', 'includes the broadcast address 255.255.255.255'],
    ['::/127', 'includes the unspecified address :: and the loopback address ::1'],
    ['::/64', 'includes the unspecified address :: and the loopback address ::1'],
    ['fe80::/9', 'overlaps the link-local range fe80::/10'],
    ['f000::/4', 'overlaps the link-local range fe80::/10 and the multicast range ff00::/8'],
  ])('refuses %s, which overlaps a reserved range in part', (text, problem) => {
    expect(poolPrefixProblem(parseCidr(text), text)).toMatch(`prefix "${text}" ${problem}; expected`);
  });

  it.each([
    '10.60.1.0/24',
    '10.60.1.5/24',
    '172.16.1.100/31',
    '1.0.0.0/8',
    '126.0.0.0/8',
    '128.0.0.0/8',
    '169.253.0.0/16',
    '169.255.0.0/16',
    '223.255.255.0/24',
    '255.255.255.252/31',
    'fd00::/64',
    'fd00::/127',
    '::2/127',
    '2001:db8::/32',
    'fe00::/9',
    'fec0::/10',
  ])('accepts %s', (text) => {
    expect(poolPrefixProblem(parseCidr(text), text)).toBeUndefined();
  });

  it('names the canonical prefix when no text is given', () => {
    expect(poolPrefixProblem(parseCidr('127.0.0.9/8'))).toMatch(/^prefix "127\.0\.0\.0\/8" lies in/);
  });
});

describe('parsePoolPrefix', () => {
  it('returns the prefix when it is usable', () => {
    expect(formatCidr(parsePoolPrefix('10.60.1.0/24'))).toBe('10.60.1.0/24');
  });

  it.each([
    ['224.0.0.0/4', 'prefix "224.0.0.0/4" lies in the multicast range 224.0.0.0/4; expected'],
    ['10.0.0.1/32', 'prefix "10.0.0.1/32" holds a single address; expected /31 or shorter'],
    ['10.0.0.0/33', 'invalid CIDR "10.0.0.0/33": prefix length must be 0..32 for IPv4'],
    ['banana', 'invalid CIDR "banana": expected address/prefix-length'],
  ])('throws INVALID_ARGUMENT for %s', (text, message) => {
    const err = errorOf(() => parsePoolPrefix(text));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain(message);
  });
});

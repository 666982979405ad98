/**
 * CIDR prefixes: parsing with errors that name the bad value and the expected form, containment,
 * overlap and iteration of host addresses. Values are bigints so IPv4 and IPv6 share one code path.
 */
import { invalidArgument } from '../../core/errors.js';
import { bitsOf, formatIp, tryParseIp, type IpAddress, type IpFamily } from './ip.js';

/** A parsed prefix. `network` and `last` are the first and last addresses it covers. */
export interface Cidr {
  readonly family: IpFamily;
  /** The address as written (may have host bits set, as in an interface address `10.0.0.1/24`). */
  readonly address: bigint;
  readonly prefixLength: number;
  readonly network: bigint;
  readonly last: bigint;
}

function hostMask(family: IpFamily, prefixLength: number): bigint {
  return (1n << BigInt(bitsOf(family) - prefixLength)) - 1n;
}

/** Builds a prefix from an address and a length (host bits kept in `address`). Usage: `cidrOf(ip, 24)`. */
export function cidrOf(ip: IpAddress, prefixLength: number): Cidr {
  const mask = hostMask(ip.family, prefixLength);
  const network = ip.value & ~mask;
  return { family: ip.family, address: ip.value, prefixLength, network, last: network | mask };
}

/**
 * Parses `address/length`; throws INVALID_ARGUMENT naming the value and the expected form.
 * Usage: `parseCidr('10.60.1.0/24')`.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) {
    throw invalidArgument(
      `invalid CIDR "${text}": expected address/prefix-length such as 10.0.0.0/24 or fd00::/64`,
    );
  }
  const addressText = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  const ip = tryParseIp(addressText);
  if (!ip) {
    throw invalidArgument(
      `invalid CIDR "${text}": "${addressText}" is not an IPv4 (a.b.c.d) or IPv6 (such as fd00::) address`,
    );
  }
  const bits = bitsOf(ip.family);
  const length = /^(0|[1-9]\d{0,2})$/.test(lengthText) ? Number(lengthText) : NaN;
  if (!(length >= 0 && length <= bits)) {
    throw invalidArgument(`invalid CIDR "${text}": prefix length must be 0..${bits} for IPv${ip.family}`);
  }
  return cidrOf(ip, length);
}

/**
 * Parses a CIDR, or a bare address as a host prefix (/32 or /128): the form excluded-prefix lists use.
 * Usage: `parseCidrOrAddress('10.0.0.7')`.
 */
export function parseCidrOrAddress(text: string): Cidr {
  if (text.includes('/')) return parseCidr(text);
  const ip = tryParseIp(text);
  if (!ip) {
    throw invalidArgument(
      `invalid prefix "${text}": expected a CIDR such as 10.0.0.0/24 or fd00::/64, or an address`,
    );
  }
  return cidrOf(ip, bitsOf(ip.family));
}

/** Canonical text, network form: `10.0.0.0/24`. Usage: `formatCidr(parseCidr('10.0.0.9/24'))`. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ family: cidr.family, value: cidr.network })}/${cidr.prefixLength}`;
}

/** The single-address prefix of `ip`: `10.0.0.1/32` or `fd00::1/128`. Usage: `hostCidr(ip)`. */
export function hostCidr(ip: IpAddress): string {
  return `${formatIp(ip)}/${bitsOf(ip.family)}`;
}

/** Whether `cidr` is a single address (/32 or /128). */
export function isHostCidr(cidr: Cidr): boolean {
  return cidr.prefixLength === bitsOf(cidr.family);
}

/** Whether `ip` lies inside `cidr`. Usage: `contains(parseCidr('10.0.0.0/8'), parseIp('10.1.2.3'))`. */
export function contains(cidr: Cidr, ip: IpAddress): boolean {
  return cidr.family === ip.family && ip.value >= cidr.network && ip.value <= cidr.last;
}

/** Whether `inner` lies entirely inside `outer`. */
export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.network >= outer.network && inner.last <= outer.last;
}

/** Whether two prefixes share at least one address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.network <= b.last && b.network <= a.last;
}

/** Number of addresses covered. */
export function sizeOf(cidr: Cidr): bigint {
  return cidr.last - cidr.network + 1n;
}

/**
 * The addresses of `cidr` that are not for hosts: the network and broadcast addresses of an IPv4 prefix
 * shorter than /31 (RFC 3021 makes both /31 addresses usable), and the subnet-router anycast (all-zero
 * host) address of an IPv6 prefix shorter than /127 (RFC 6164).
 */
export function isReserved(cidr: Cidr, value: bigint): boolean {
  const bits = bitsOf(cidr.family);
  if (cidr.prefixLength >= bits - 1) return false;
  return value === cidr.network || (cidr.family === 4 && value === cidr.last);
}

/** First and last usable host values of `cidr` (see `isReserved`). */
export function hostRange(cidr: Cidr): { first: bigint; last: bigint } {
  const first = isReserved(cidr, cidr.network) ? cidr.network + 1n : cidr.network;
  const last = isReserved(cidr, cidr.last) ? cidr.last - 1n : cidr.last;
  return { first, last };
}

/** Iterates the usable host addresses in order. Usage: `for (const ip of hosts(parseCidr('10.0.0.0/30'))) ...`. */
export function* hosts(cidr: Cidr): Generator<IpAddress> {
  const { first, last } = hostRange(cidr);
  for (let value = first; value <= last; value++) yield { family: cidr.family, value };
}

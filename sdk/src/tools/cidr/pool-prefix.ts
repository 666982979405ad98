/**
 * The one rule for a prefix an endpoint hands out addresses from (NSM_CIDR_PREFIX, `cidrPrefix`,
 * `point2pointIpam`): unicast, at least two addresses (point-to-point IPAM gives each connection a pair),
 * and clear of every range an interface must not be given. The manifest reader and the SDK both use it,
 * so `nsm up` and a CNF built on the SDK refuse the same prefixes with the same words.
 */
import { invalidArgument } from '../../core/errors.js';
import { containsCidr, formatCidr, overlaps, parseCidr, type Cidr } from './cidr.js';
import { bitsOf, type IpFamily } from './ip.js';

/** A range no pool may touch, and how a message names it. */
interface SpecialRange {
  readonly cidr: Cidr;
  /** Such as `the loopback range 127.0.0.0/8` or `the broadcast address 255.255.255.255`. */
  readonly name: string;
  /** A single address (`is`/`includes` read better than `lies in`/`overlaps`). */
  readonly single: boolean;
}

function range(what: string, text: string): SpecialRange {
  const cidr = parseCidr(text);
  const single = cidr.prefixLength === bitsOf(cidr.family);
  const shown = single ? text.slice(0, text.indexOf('/')) : text;
  return { cidr, name: `the ${what} ${single ? 'address' : 'range'} ${shown}`, single };
}

/** The ranges refused as pools, per family (disjoint, so a prefix lies inside at most one). */
const SPECIAL: Record<IpFamily, readonly SpecialRange[]> = {
  4: [
    range('unspecified ("this network")', '0.0.0.0/8'),
    range('loopback', '127.0.0.0/8'),
    range('link-local', '169.254.0.0/16'),
    range('multicast', '224.0.0.0/4'),
    range('broadcast', '255.255.255.255/32'),
  ],
  6: [
    range('unspecified', '::/128'),
    range('loopback', '::1/128'),
    range('link-local', 'fe80::/10'),
    range('multicast', 'ff00::/8'),
  ],
};

/** `a`, `a and b`, `a, b and c`. */
function joinAnd(items: readonly string[]): string {
  return items.length > 1
    ? `${items.slice(0, -1).join(', ')} and ${items.slice(-1).join('')}`
    : items.join('');
}

function expected(family: IpFamily): string {
  const ranges = joinAnd(SPECIAL[family].map((r) => formatCidr(r.cidr)));
  return `expected a unicast prefix outside ${ranges}, such as ${family === 4 ? '10.60.1.0/24' : 'fd00::/64'}`;
}

/** What is wrong with the ranges `cidr` touches, or undefined when it touches none. */
function specialProblem(cidr: Cidr): string | undefined {
  const hits = SPECIAL[cidr.family].filter((r) => overlaps(r.cidr, cidr));
  const inside = hits.find((r) => containsCidr(r.cidr, cidr));
  if (inside) return `${inside.single ? 'is' : 'lies in'} ${inside.name}`;
  if (hits.length === 0) return undefined;
  return `${hits.every((r) => r.single) ? 'includes' : 'overlaps'} ${joinAnd(hits.map((r) => r.name))}`;
}

/**
 * Why `cidr` cannot be an endpoint's address pool, as `prefix "<text>" <what is wrong>; expected ...`,
 * or undefined when it can. Refused: the default route (/0), any prefix overlapping (inside, around or
 * partly) the unspecified, loopback, link-local, multicast or IPv4 broadcast ranges, and single-address
 * prefixes (/32, /128; /31 and /127 are the smallest pools). `text` is the prefix as written.
 * Usage: `const problem = poolPrefixProblem(parseCidr('127.0.0.0/8'))`.
 */
export function poolPrefixProblem(cidr: Cidr, text = formatCidr(cidr)): string | undefined {
  const bits = bitsOf(cidr.family);
  const what =
    cidr.prefixLength === 0
      ? `is the default route: it covers every IPv${cidr.family} address, reserved ranges included`
      : specialProblem(cidr);
  if (what) return `prefix "${text}" ${what}; ${expected(cidr.family)}`;
  if (cidr.prefixLength < bits) return undefined;
  return (
    `prefix "${text}" holds a single address; expected /${bits - 1} or shorter: ` +
    'point-to-point IPAM needs 2 addresses per connection'
  );
}

/**
 * Parses one address-pool prefix; throws INVALID_ARGUMENT for text that is no CIDR (see `parseCidr`) or a
 * prefix `poolPrefixProblem` refuses. Usage: `parsePoolPrefix('10.60.1.0/24')`.
 */
export function parsePoolPrefix(text: string): Cidr {
  const cidr = parseCidr(text);
  const problem = poolPrefixProblem(cidr, text);
  if (problem) throw invalidArgument(problem);
  return cidr;
}

/**
 * External VXLAN endpoints: a VNF or appliance the mesh does not run, declared as a
 * NetworkServiceEndpoint whose URL says how to reach it over VXLAN:
 *
 *   vxlan://<vtep>[:<port>]?vni=<n>|<first>-<last>&ip=<vnf address>/<len>
 *     [&pool=<client prefix>][&routes=<prefix>,<prefix>...][&mtu=<bytes>]
 *
 * `vtep` is the VNF's VXLAN tunnel endpoint (IPv6 in brackets), `port` its UDP port (4789), `vni`
 * the VNI or the range the mesh allocates one per connection from, `ip` the VNF's own address on
 * those VNIs, `pool` where client addresses come from (default: the subnet of `ip`), `routes` the
 * prefixes the VNF routes onward (the clients reach them through it) and `mtu` the largest frame
 * the VNF's side takes. Connection number i gets VNI first+i and host address number i of the pool
 * (the VNF's address skipped), so an operator can configure the VNF per VNI in advance.
 */
import { Code, NsmError, invalidArgument } from '../../core/errors.js';
import { DEFAULT_VXLAN_PORT, MAX_VNI } from '../../networkservice/common/mechanisms/vxlan.js';
import {
  contains,
  containsCidr,
  hostRange,
  parseCidr,
  formatCidr,
  type Cidr,
} from '../../tools/cidr/cidr.js';
import { bitsOf, formatIp, tryParseIp, type IpAddress } from '../../tools/cidr/ip.js';

/** The URL scheme of an external VXLAN endpoint. */
export const EXTERNAL_VXLAN_SCHEME = 'vxlan:';

/** A parsed external VXLAN endpoint URL. */
export interface ExternalVxlan {
  /** The URL as given. */
  readonly url: string;
  /** The VNF's VTEP address (canonical text, no brackets). */
  readonly vtep: string;
  readonly port: number;
  /** The VNIs connections may get, inclusive. */
  readonly vnis: { readonly first: number; readonly last: number };
  /** The VNF's address with its prefix length, e.g. `10.60.0.1/24`. */
  readonly vnfIp: string;
  /** Where client addresses come from (canonical network form). */
  readonly pool: string;
  /** Prefixes reached through the VNF. */
  readonly routes: readonly string[];
  /** The VNF side's MTU, when declared. */
  readonly mtu?: number;
  /** How many connections it takes at once: the smaller of the VNI range and the pool's free hosts. */
  readonly capacity: number;
}

const KEYS = ['vni', 'ip', 'pool', 'routes', 'mtu'] as const;
const FORM =
  'vxlan://<vtep>[:<port>]?vni=<n>|<first>-<last>&ip=<vnf address>/<len>[&pool=<cidr>][&routes=<cidr>,...][&mtu=<n>]';

/** Whether `url` names an external VXLAN endpoint. */
export function isExternalVxlanUrl(url: string | undefined): boolean {
  return typeof url === 'string' && url.startsWith(`${EXTERNAL_VXLAN_SCHEME}//`);
}

function bad(url: string, what: string): NsmError {
  return invalidArgument(`external endpoint URL "${url}": ${what}; expected ${FORM}`);
}

function parseVnis(url: string, text: string | null): { first: number; last: number } {
  if (text === null) throw bad(url, 'no vni');
  const m = /^(\d{1,8})(?:-(\d{1,8}))?$/.exec(text);
  const first = m ? Number(m[1]) : NaN;
  const last = m?.[2] !== undefined ? Number(m[2]) : first;
  if (!(first >= 1 && last <= MAX_VNI && first <= last)) {
    throw bad(url, `vni is "${text}", not a VNI 1..${MAX_VNI} or a range first-last of them`);
  }
  return { first, last };
}

function parseNumberParam(url: string, key: string, text: string, min: number, max: number): number {
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw bad(url, `${key} is "${text}", not an integer ${min}..${max}`);
  return n;
}

function cidrParam(url: string, key: string, text: string): Cidr {
  try {
    return parseCidr(text);
  } catch (err) {
    throw bad(url, `${key}: ${(err as Error).message}`);
  }
}

/** Host values of the pool that clients may get, in order: every host but the VNF's own address. */
function clientHostCount(pool: Cidr, vnf: IpAddress): bigint {
  const { first, last } = hostRange(pool);
  const count = last >= first ? last - first + 1n : 0n;
  return contains(pool, vnf) && vnf.value >= first && vnf.value <= last ? count - 1n : count;
}

/**
 * Parses and checks an external VXLAN endpoint URL; throws INVALID_ARGUMENT naming what is wrong.
 * Usage: `parseExternalVxlan('vxlan://192.0.2.10?vni=5000-5099&ip=10.60.0.1/24')`.
 */
export function parseExternalVxlan(url: string): ExternalVxlan {
  if (!isExternalVxlanUrl(url)) throw bad(url, 'not a vxlan:// URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const port = /^vxlan:\/\/(?:\[[^\]]*\]|[^/:?]*):(\d+)/.exec(url)?.[1];
    throw bad(url, port ? `the port is "${port}", not an integer 1..65535` : 'not a URL');
  }
  if (parsed.username || parsed.password || (parsed.pathname && parsed.pathname !== '/') || parsed.hash) {
    throw bad(url, 'it has a user, path or fragment');
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const vtep = tryParseIp(host);
  if (!vtep) throw bad(url, `the VTEP "${parsed.hostname}" is not an IP address`);
  const port = parsed.port ? parseNumberParam(url, 'the port', parsed.port, 1, 65535) : DEFAULT_VXLAN_PORT;
  const q = parsed.searchParams;
  for (const key of new Set(q.keys())) {
    if (!(KEYS as readonly string[]).includes(key))
      throw bad(url, `unknown parameter "${key}" (known: ${KEYS.join(', ')})`);
    if (q.getAll(key).length > 1) throw bad(url, `parameter "${key}" is given twice`);
  }
  const vnis = parseVnis(url, q.get('vni'));
  const ipText = q.get('ip');
  if (ipText === null) throw bad(url, "no ip (the VNF's address on the VXLAN, e.g. ip=10.60.0.1/24)");
  const ip = cidrParam(url, 'ip', ipText);
  const vnf: IpAddress = { family: ip.family, value: ip.address };
  if (ip.prefixLength === bitsOf(ip.family))
    throw bad(url, `ip ${ipText} is a single address; give the subnet it has on the VXLAN, e.g. /24`);
  const { first: firstHost, last: lastHost } = hostRange(ip);
  if (vnf.value < firstHost || vnf.value > lastHost)
    throw bad(url, `ip ${ipText} is the subnet's network or broadcast address, not a host's`);
  const pool = q.has('pool') ? cidrParam(url, 'pool', q.get('pool') ?? '') : ip;
  if (pool.family !== ip.family) throw bad(url, `pool ${q.get('pool') ?? ''} is not in the family of ip`);
  if (!containsCidr(ip, pool))
    throw bad(url, `pool ${formatCidr(pool)} is outside the VNF's subnet ${formatCidr(ip)}`);
  const routes = (q.get('routes') ?? '')
    .split(',')
    .filter((r) => r !== '')
    .map((r) => {
      const cidr = cidrParam(url, 'routes', r);
      if (cidr.family !== ip.family) throw bad(url, `route ${r} is not in the family of ip`);
      return formatCidr(cidr);
    });
  const mtu = q.has('mtu') ? parseNumberParam(url, 'mtu', q.get('mtu') ?? '', 576, 65535) : undefined;
  const hostsFree = clientHostCount(pool, vnf);
  const vniCount = BigInt(vnis.last - vnis.first + 1);
  const capacity = Number(hostsFree < vniCount ? hostsFree : vniCount);
  if (capacity < 1) throw bad(url, `pool ${formatCidr(pool)} has no address left for a client`);
  return {
    url,
    vtep: formatIp(vtep),
    port,
    vnis,
    vnfIp: `${formatIp(vnf)}/${ip.prefixLength}`,
    pool: formatCidr(pool),
    routes,
    ...(mtu !== undefined ? { mtu } : {}),
    capacity,
  };
}

/**
 * The client address (with the VNF subnet's prefix length) of connection slot `index`
 * (0 ≤ index < capacity): host number `index` of the pool, the VNF's address skipped.
 */
export function clientAddress(ext: ExternalVxlan, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= ext.capacity)
    throw new NsmError(Code.OUT_OF_RANGE, `slot ${index} is outside 0..${ext.capacity - 1} of ${ext.url}`);
  const pool = parseCidr(ext.pool);
  const vnf = parseCidr(ext.vnfIp);
  const { first } = hostRange(pool);
  let value = first + BigInt(index);
  if (vnf.address >= first && vnf.address <= value) value += 1n;
  return `${formatIp({ family: pool.family, value })}/${vnf.prefixLength}`;
}

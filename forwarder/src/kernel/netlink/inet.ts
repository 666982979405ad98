import { isIP } from 'node:net';

import { invalidArgument } from '../../../../sdk/src/core/errors.js';
import { AF } from './constants.js';

/** An IP address in wire form. */
export interface IpAddress {
  readonly family: typeof AF.INET | typeof AF.INET6;
  readonly bytes: Buffer;
  readonly text: string;
}

/** An IP prefix such as `10.0.0.1/24`; the host bits are kept (addresses need them). */
export interface IpPrefix extends IpAddress {
  readonly prefixLen: number;
}

/** Parses an IPv4 or IPv6 address. Usage: `parseIp('fd00::1').bytes`. */
export function parseIp(text: string): IpAddress {
  const version = isIP(text);
  if (version === 4) return { family: AF.INET, bytes: Buffer.from(text.split('.').map(Number)), text };
  if (version === 6) return { family: AF.INET6, bytes: parseIpv6(text), text };
  throw invalidArgument(`"${text}" is not an IP address`);
}

function parseIpv6(text: string): Buffer {
  const bare = text.split('%')[0] ?? text;
  const [head = '', tail] = bare.split('::');
  const words = (part: string | undefined): number[] => {
    if (!part) return [];
    return part.split(':').flatMap((group) => {
      if (!group.includes('.')) return [parseInt(group, 16)];
      // An embedded IPv4 tail ("::ffff:10.0.0.1") fills the last two 16-bit groups.
      const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const front = words(head);
  const back = words(tail);
  const all =
    tail === undefined
      ? front
      : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

/**
 * Parses `address/prefix`; a bare address means a host prefix (/32 or /128).
 * Usage: `parseCidr('10.0.0.1/24').prefixLen === 24`.
 */
export function parseCidr(text: string): IpPrefix {
  const slash = text.indexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash));
  const max = ip.bytes.length * 8;
  if (slash === -1) return { ...ip, prefixLen: max, text };
  const lenText = text.slice(slash + 1);
  const prefixLen = Number(lenText);
  if (!/^\d{1,3}$/.test(lenText) || prefixLen > max) {
    throw invalidArgument(`"${text}" has an invalid prefix length (0..${max})`);
  }
  return { ...ip, prefixLen, text };
}

/** Parses a MAC address `aa:bb:cc:dd:ee:ff` (or with dashes). */
export function parseMac(text: string): Buffer {
  if (!/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i.test(text))
    throw invalidArgument(`"${text}" is not a MAC address`);
  return Buffer.from(text.replace(/[:-]/g, ''), 'hex');
}

/** Formats 6 bytes as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * Formats 4 or 16 address bytes as text (IPv6 in the RFC 5952 short form).
 * Usage: `formatIp(Buffer.from([10, 0, 0, 1])) === '10.0.0.1'`.
 */
export function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) throw invalidArgument(`${bytes.length} bytes are not an IP address`);
  const words = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  // The longest run of two or more zero words becomes "::" (the first such run on a tie).
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (best.at < 0) return hex(words);
  return `${hex(words.slice(0, best.at))}::${hex(words.slice(best.at + best.len))}`;
}

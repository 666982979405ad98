import { invalidArgument } from '@nsm-ts/sdk/core';
import { formatIp as sdkFormatIp, parseIp as sdkParseIp } from '@nsm-ts/sdk/tools';
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

/** Parses an IPv4 or IPv6 address (the SDK's parser), in the byte form netlink wants. Usage: `parseIp('fd00::1').bytes`. */
export function parseIp(text: string): IpAddress {
  const ip = sdkParseIp(text.split('%')[0] ?? text);
  const size = ip.family === 4 ? 4 : 16;
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = Number((ip.value >> BigInt(8 * (size - 1 - i))) & 0xffn);
  return { family: ip.family === 4 ? AF.INET : AF.INET6, bytes, text };
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
  if (bytes.length !== 4 && bytes.length !== 16)
    throw invalidArgument(`${bytes.length} bytes are not an IP address`);
  const value = [...bytes].reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  return sdkFormatIp({ family: bytes.length === 4 ? 4 : 6, value });
}

/**
 * NSM_METRICS_ADDR: where a process serves its Prometheus metrics, as `host:port` (`127.0.0.1:9090`,
 * `0.0.0.0:9090`, `[::1]:9090`, `localhost:9090`). Unset or empty: no metrics, no HTTP server.
 */
import type { EnvReader } from '../tools/env/env.js';

/** The environment variable. */
export const METRICS_ENV = 'NSM_METRICS_ADDR';

/** What a good value looks like, for error messages. */
export const METRICS_ADDR_FORM = 'host:port, e.g. 127.0.0.1:9090 or [::1]:9090, with a port from 0 to 65535';

/** A parsed metrics address. */
export interface MetricsAddress {
  /** The host as given, without the brackets of an IPv6 address. */
  readonly host: string;
  /** 0: any free port (the one bound is logged). */
  readonly port: number;
}

/** A bad NSM_METRICS_ADDR; the message names the variable, the value and the expected form. */
export class MetricsAddressError extends Error {
  override readonly name = 'MetricsAddressError';
  constructor(
    readonly value: string,
    problem: string,
  ) {
    super(`${METRICS_ENV}=${JSON.stringify(value)}: ${problem}; expected ${METRICS_ADDR_FORM}`);
  }
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

/** Parses `host:port`; throws MetricsAddressError. Usage: `parseMetricsAddress('127.0.0.1:9090')`. */
export function parseMetricsAddress(value: string): MetricsAddress {
  const text = value.trim();
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(text);
  const colon = text.lastIndexOf(':');
  if (!bracketed && colon < 0) throw new MetricsAddressError(value, 'no port');
  const host = bracketed ? (bracketed[1] ?? '') : text.slice(0, colon);
  const portText = bracketed ? (bracketed[2] ?? '') : text.slice(colon + 1);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
    throw new MetricsAddressError(value, 'a URL, not an address (leave out the scheme and the path)');
  if (host === '') throw new MetricsAddressError(value, 'no host');
  if (bracketed ? !IPV6.test(host) : !HOSTNAME.test(host) && !/^\d{1,3}(\.\d{1,3}){3}$/.test(host))
    throw new MetricsAddressError(
      value,
      host.includes(':') ? `"${host}" is an IPv6 address without brackets` : `"${host}" is not a host`,
    );
  if (!/^\d+$/.test(portText)) throw new MetricsAddressError(value, `port "${portText}" is not a number`);
  const port = Number(portText);
  if (port > 65535) throw new MetricsAddressError(value, `port ${port} is out of range`);
  return { host, port };
}

/**
 * Reads NSM_METRICS_ADDR into a daemon's configuration: '' when unset, the value when it parses,
 * and otherwise '' with the problem added to the reader's errors.
 * Usage: `metricsAddr: readMetricsAddr(reader)`.
 */
export function readMetricsAddr(reader: EnvReader): string {
  const value = reader.string(METRICS_ENV, '');
  if (value === '') return '';
  try {
    parseMetricsAddress(value);
    return value;
  } catch (err) {
    reader.errors.push((err as Error).message);
    return '';
  }
}

/** The line of a daemon's usage text. */
export const METRICS_USAGE = `  ${METRICS_ENV}                     serve Prometheus metrics at http://<host:port>/metrics
                                       (e.g. 127.0.0.1:9090; default: unset = no metrics server)`;

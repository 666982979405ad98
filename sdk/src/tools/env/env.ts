/**
 * Reading daemon configuration from the environment with errors that name the variable, the bad value
 * and what was expected. Daemons collect every problem and print them together with their usage text.
 */
import { readFileSync } from 'node:fs';
import { parseDuration } from '../duration.js';
import { parseUrl } from '../../grpc/url.js';

/** Collects configuration errors while reading variables. */
export class EnvReader {
  readonly errors: string[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** A string variable, or `fallback` when unset or empty. */
  string(name: string, fallback: string): string {
    const value = this.env[name]?.trim();
    return value ? value : fallback;
  }

  /** A duration such as `10m`, `30s` or `250ms`, in milliseconds. */
  duration(name: string, fallback: string): number {
    const text = this.string(name, fallback);
    try {
      return parseDuration(text);
    } catch (err) {
      this.errors.push(`${name}=${JSON.stringify(text)}: ${(err as Error).message}`);
      return parseDuration(fallback);
    }
  }

  /** A comma-separated list of mesh URLs (`unix:///path` or `tcp://host:port`). */
  urls(name: string, fallback: string): string[] {
    const list = this.string(name, fallback)
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean);
    for (const url of list) {
      try {
        parseUrl(url);
      } catch (err) {
        this.errors.push(`${name}: ${(err as Error).message}`);
      }
    }
    return list;
  }

  /** One mesh URL, or '' when unset and `fallback` is ''. */
  url(name: string, fallback = ''): string {
    const value = this.string(name, fallback);
    if (value) this.urls(name, value);
    return value;
  }

  /** An integer within [min, max]. */
  integer(name: string, fallback: number, min: number, max: number): number {
    const text = this.string(name, String(fallback));
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.errors.push(`${name}=${JSON.stringify(text)}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  /** `true`/`false` (also 1/0, yes/no, on/off), or `fallback` when unset. */
  boolean(name: string, fallback: boolean): boolean {
    const text = this.string(name, String(fallback)).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(text)) return true;
    if (['false', '0', 'no', 'off'].includes(text)) return false;
    this.errors.push(`${name}=${JSON.stringify(text)}: expected true or false`);
    return fallback;
  }

  /** An IPv4 or IPv6 address, or '' when unset. */
  ip(name: string): string {
    const value = this.string(name, '');
    if (value && !/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+)$/.test(value)) {
      this.errors.push(`${name}=${JSON.stringify(value)}: expected an IPv4 or IPv6 address`);
    }
    return value;
  }
}

/** Raised with every configuration problem at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`bad configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** Where Kubernetes puts the namespace of the pod's service account. */
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The namespace of the pod this process runs in, when in a Kubernetes cluster (else undefined). */
export function podNamespace(file = SERVICE_ACCOUNT_NAMESPACE): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

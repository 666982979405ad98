import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Counter, Registry } from 'prom-client';
import { silentLogger } from '../core/log.js';
import { EnvReader } from '../tools/env/env.js';
import { MetricsAddressError, parseMetricsAddress, readMetricsAddr } from './address.js';
import { daemonMetrics, startMetricsServer } from './server.js';

const FORM = 'expected host:port, e.g. 127.0.0.1:9090 or [::1]:9090, with a port from 0 to 65535';

describe('NSM_METRICS_ADDR', () => {
  it('parses host:port, IPv6 in brackets and host names', () => {
    expect(parseMetricsAddress('127.0.0.1:9090')).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(parseMetricsAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseMetricsAddress('localhost:65535')).toEqual({ host: 'localhost', port: 65535 });
  });

  it.each([
    ['9090', 'no port'],
    ['127.0.0.1', 'no port'],
    [':9090', 'no host'],
    ['127.0.0.1:', 'port "" is not a number'],
    ['127.0.0.1:http', 'port "http" is not a number'],
    ['127.0.0.1:65536', 'port 65536 is out of range'],
    ['127.0.0.1:99999', 'port 99999 is out of range'],
    ['127.0.0.1:-1', 'port "-1" is not a number'],
    ['::1:9090', '"::1" is an IPv6 address without brackets'],
    ['http://127.0.0.1:9090/metrics', 'a URL, not an address'],
    ['bad host:9090', '"bad host" is not a host'],
  ])('refuses %j naming the variable, the value and the form', (value, problem) => {
    const err = (() => {
      try {
        parseMetricsAddress(value);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(MetricsAddressError);
    expect(err?.message).toContain(`NSM_METRICS_ADDR=${JSON.stringify(value)}: ${problem}`);
    expect(err?.message).toContain(FORM);
  });

  it("adds a bad value to the daemon's configuration errors; unset is no metrics", () => {
    const bad = new EnvReader({ NSM_METRICS_ADDR: '127.0.0.1:70000' });
    expect(readMetricsAddr(bad)).toBe('');
    expect(bad.errors).toEqual([expect.stringMatching(/^NSM_METRICS_ADDR="127.0.0.1:70000": port 70000/)]);
    const unset = new EnvReader({});
    expect(readMetricsAddr(unset)).toBe('');
    expect(unset.errors).toEqual([]);
    expect(readMetricsAddr(new EnvReader({ NSM_METRICS_ADDR: ' 127.0.0.1:9090 ' }))).toBe('127.0.0.1:9090');
  });
});

describe('the metrics server', () => {
  it('serves the registry at /metrics in the text format, and nothing else', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'test_things_total', help: 'things', registers: [registry] });
    counter.inc(3);
    const server = await startMetricsServer('127.0.0.1:0', registry, silentLogger);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      const text = await res.text();
      expect(text).toContain('# TYPE test_things_total counter');
      expect(text).toContain('test_things_total 3');
      expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
    await expect(fetch(server.url)).rejects.toThrow();
  });

  it('names the variable, the value and the form when the address is in use', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const addr = `127.0.0.1:${port}`;
      await expect(startMetricsServer(addr, new Registry(), silentLogger)).rejects.toThrow(
        `NSM_METRICS_ADDR="${addr}": the address is in use by another process (EADDRINUSE); ${FORM}`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('refuses a host that is not an address of this machine, and a bad address before binding', async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface here: binding fails, nothing is sent.
    await expect(startMetricsServer('192.0.2.1:0', new Registry(), silentLogger)).rejects.toThrow(
      'NSM_METRICS_ADDR="192.0.2.1:0": the host is not an address of this machine (EADDRNOTAVAIL)',
    );
    await expect(startMetricsServer('127.0.0.1:65536', new Registry(), silentLogger)).rejects.toThrow(
      MetricsAddressError,
    );
  });

  it('daemonMetrics is nothing without an address, and serves process metrics with one', async () => {
    expect(await daemonMetrics('', silentLogger)).toBeUndefined();
    const metrics = await daemonMetrics('127.0.0.1:0', silentLogger);
    try {
      const text = await (await fetch(metrics!.url)).text();
      expect(text).toContain('process_cpu_seconds_total');
      expect(text).toContain('nodejs_eventloop_lag_seconds');
    } finally {
      await metrics?.close();
    }
  });
});

import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

import { ipIn, ipJson, NamespaceFixture, type TestNamespace } from '../../kernel/testing/netns-fixture.js';

const run = promisify(execFile);

/** Two namespaces joined by a veth pair: `a` holds `ifA`, `b` holds `ifB`. IPv6 is off in both. */
export interface VethPair {
  a: TestNamespace;
  b: TestNamespace;
  ifA: string;
  ifB: string;
}

function noIpv6(ns: TestNamespace): void {
  // Router solicitations and DAD would add frames the counters do not expect.
  execFileSync('ip', ['netns', 'exec', ns.name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  execFileSync('ip', ['netns', 'exec', ns.name, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
}

/**
 * Creates the pair in fresh namespaces of `fx` (removed by its cleanup, also on failure): a
 * {@link NamespaceFixture}, or anything else that makes namespaces (the benchmarks' own).
 */
export function vethPair(fx: Pick<NamespaceFixture, 'add'>, tag: string): VethPair {
  const a = fx.add(`${tag}a`);
  const b = fx.add(`${tag}b`);
  noIpv6(a);
  noIpv6(b);
  const ifA = `mb${process.pid % 100000}a`;
  const ifB = `mb${process.pid % 100000}b`;
  ipIn(a.name, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', b.name);
  ipIn(a.name, 'link', 'set', ifA, 'up');
  ipIn(b.name, 'link', 'set', ifB, 'up');
  return { a, b, ifA, ifB };
}

/** An interface's kernel counters. */
export function linkStats(ns: string, ifname: string): { rx: number; tx: number; rxDropped: number } {
  const [link] = ipJson<{ stats64: { rx: { packets: number; dropped: number }; tx: { packets: number } } }[]>(
    ns,
    '-s',
    'link',
    'show',
    ifname,
  );
  return { rx: link!.stats64.rx.packets, tx: link!.stats64.tx.packets, rxDropped: link!.stats64.rx.dropped };
}

/**
 * A VXLAN tunnel over the pair: 10.61.0.1/24 and 10.61.0.2/24 on the veth ends, and a device named
 * `name` (VNI `vni`, port 4789) at each end, up; with `onVeth` bound to the veth, so its MTU leaves
 * room for the 50 bytes of VXLAN. Returns the device name (the same on both sides).
 */
export function vxlanOver(w: VethPair, name: string, vni: number, onVeth = false): string {
  ipIn(w.a.name, 'addr', 'add', '10.61.0.1/24', 'dev', w.ifA);
  ipIn(w.b.name, 'addr', 'add', '10.61.0.2/24', 'dev', w.ifB);
  for (const [ns, local, remote, dev] of [
    [w.a.name, '10.61.0.1', '10.61.0.2', w.ifA],
    [w.b.name, '10.61.0.2', '10.61.0.1', w.ifB],
  ] as const) {
    const args = ['link', 'add', name, 'type', 'vxlan', 'id', String(vni), 'local', local, 'remote', remote];
    ipIn(ns, ...args, 'dstport', '4789', ...(onVeth ? ['dev', dev] : []));
    ipIn(ns, 'link', 'set', name, 'up');
  }
  return name;
}

/** Pings from inside `ns` without blocking the event loop (the responder answers on it). */
export async function pingFrom(
  ns: string,
  ip: string,
  count: number,
  flood = false,
): Promise<{ received: number; out: string }> {
  try {
    const { stdout } = await run(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'ping',
        '-c',
        String(count),
        ...(flood ? ['-f', '-q'] : ['-i', '0.2']),
        '-W',
        '2',
        ip,
      ],
      { timeout: 20_000 },
    );
    return { received: Number(/(\d+) received/.exec(stdout)?.[1] ?? 0), out: stdout };
  } catch (err) {
    const out = String((err as { stdout?: unknown }).stdout ?? err);
    return { received: Number(/(\d+) received/.exec(out)?.[1] ?? 0), out };
  }
}

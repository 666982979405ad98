import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import type { AddressInfo, LinkInfo } from '@nsm-ts/forwarder/kernel';
import { podInterfaces, readPodInterfaces } from './interfaces.js';

const stats = {
  rxPackets: 3,
  txPackets: 4,
  rxBytes: 300,
  txBytes: 400,
  rxErrors: 0,
  txErrors: 0,
  rxDropped: 1,
  txDropped: 2,
};
const link = (index: number, name: string, extra: Partial<LinkInfo> = {}): LinkInfo => ({
  index,
  name,
  mtu: 1500,
  flags: 1,
  up: true,
  ...extra,
});
const addr = (index: number, cidr: string, linkLocal = false): AddressInfo => {
  const [address = '', len = '0'] = cidr.split('/');
  return { index, family: address.includes(':') ? 6 : 4, address, prefixLen: Number(len), cidr, linkLocal };
};

describe('podInterfaces', () => {
  it('lists every link but lo, by name, with its addresses (no link-local) and counters', () => {
    const got = podInterfaces(
      [
        link(1, 'lo'),
        link(7, 'nsm-1', { kind: 'veth', mac: 'aa:bb:cc:dd:ee:ff', stats }),
        link(3, 'eth0', { up: false }),
      ],
      [addr(1, '127.0.0.1/8'), addr(7, '10.0.0.2/32'), addr(7, 'fe80::1/64', true), addr(7, 'fd00::2/128')],
    );
    expect(got).toEqual([
      {
        name: 'eth0',
        mtu: 1500,
        up: false,
        addresses: [],
        counters: { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxDropped: 0, txDropped: 0 },
      },
      {
        name: 'nsm-1',
        kind: 'veth',
        mac: 'aa:bb:cc:dd:ee:ff',
        mtu: 1500,
        up: true,
        addresses: ['10.0.0.2/32', 'fd00::2/128'],
        counters: { rxBytes: 300, txBytes: 400, rxPackets: 3, txPackets: 4, rxDropped: 1, txDropped: 2 },
      },
    ]);
  });
});

describe.skipIf(!isRoot)(rootTitle('readPodInterfaces in a namespace'), () => {
  const ns = `nsm-ifs-${randomBytes(3).toString('hex')}`;
  const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

  beforeAll(() => {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    ip('-n', ns, 'addr', 'add', '10.99.0.1/30', 'dev', 'va');
    ip('-n', ns, 'link', 'set', 'va', 'up');
    ip('-n', ns, 'link', 'set', 'vb', 'up');
  });
  afterAll(() => {
    ip('netns', 'del', ns);
  });

  it('reads names, kinds, addresses and counters that grow with traffic', async () => {
    const before = await readPodInterfaces(`/run/netns/${ns}`);
    expect(before?.map((i) => [i.name, i.kind, i.up])).toEqual([
      ['va', 'veth', true],
      ['vb', 'veth', true],
    ]);
    expect(before?.[0]?.addresses).toEqual(['10.99.0.1/30']);
    // ARP for a neighbour that never answers: va sends, vb (its peer) receives.
    spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '10.99.0.2'], {
      stdio: 'ignore',
    });
    const after = await readPodInterfaces(`/run/netns/${ns}`);
    const [va0, vb0, va1, vb1] = [before?.[0], before?.[1], after?.[0], after?.[1]];
    expect(va1!.counters.txPackets).toBeGreaterThan(va0!.counters.txPackets);
    expect(va1!.counters.txBytes).toBeGreaterThan(va0!.counters.txBytes);
    expect(vb1!.counters.rxPackets).toBeGreaterThan(vb0!.counters.rxPackets);
  }, 10_000);

  it('is undefined for a namespace that does not exist', async () => {
    expect(await readPodInterfaces(`/run/netns/${ns}-gone`)).toBeUndefined();
  });
});

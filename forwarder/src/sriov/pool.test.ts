import { afterEach, describe, expect, it } from 'vitest';

import { Code, NsmError } from '@nsm-ts/sdk/core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AcquireRequest, SriovPool } from './pool.js';
import { SriovPoolFixture, plainPf } from './testing/pool-fixture.js';
import { sriovTokenId } from './tokens.js';

// Netdevs exist only in sysfs here (no netns): these suites need no root and no VFIO nodes.
const PF1 = plainPf(1, { capabilities: ['intel', '10G'], serviceDomains: ['worker.domain'] });
const PF2 = plainPf(2, {
  driver: 'ice',
  vfs: 3,
  capabilities: ['10G'],
  serviceDomains: ['worker.domain', 'other.domain'],
});

const TEN_G = 'worker.domain/10G';

/** The error an acquire rejects with. */
async function refusal(pool: SriovPool, request: AcquireRequest): Promise<NsmError> {
  const err = await pool.acquire(request).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NsmError);
  return err as NsmError;
}

describe('SriovPool', () => {
  const fx = new SriovPoolFixture();
  afterEach(() => fx.close());

  it('has one token per VF per <serviceDomain>/<capability>, with ids stable across pools and unique', () => {
    const { pool, hw } = fx.make([PF1, PF2]);
    expect(pool.names).toEqual(['other.domain/10G', 'worker.domain/10G', 'worker.domain/intel']);
    expect(pool.tokens(TEN_G).map((t) => [t.vfAddress, t.pfAddress, t.holder])).toEqual([
      ['0000:01:00.1', '0000:01:00.0', undefined],
      ['0000:01:00.2', '0000:01:00.0', undefined],
      ['0000:02:00.1', '0000:02:00.0', undefined],
      ['0000:02:00.2', '0000:02:00.0', undefined],
      ['0000:02:00.3', '0000:02:00.0', undefined],
    ]);
    expect(pool.tokens('worker.domain/intel').map((t) => t.vfAddress)).toEqual([
      '0000:01:00.1',
      '0000:01:00.2',
    ]);
    expect(pool.tokens('other.domain/10G')).toHaveLength(3);
    const ids = pool.tokens().map((t) => t.id);
    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(10);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(pool.tokens(TEN_G)[0]?.id).toBe(sriovTokenId(TEN_G, '0000:01:00.1'));
    const again = fx.make([PF1, PF2]).pool;
    expect(again.tokens().map((t) => t.id)).toEqual(ids);
    expect(hw.errors).toEqual([]);
  });

  it('picks the PF with most free VFs, then the lowest PCI address', async () => {
    const { pool } = fx.make([PF1, PF2]);
    const picks = [];
    for (const owner of ['a', 'b', 'c', 'd'])
      picks.push((await pool.acquire({ owner, name: TEN_G, driver: 'kernel' })).address);
    // PF2 has 3 free; then 2 and 2 (the lower address wins); then PF2 has 2, PF1 1.
    expect(picks).toEqual(['0000:02:00.1', '0000:01:00.1', '0000:02:00.2', '0000:01:00.2']);
  });

  it('prefers a VF whose IOMMU group is already bound to the wanted driver', async () => {
    const { pool, hw } = fx.make([PF1, { ...PF2, vfsBound: false }]);
    // PF2 has more free VFs, but its VFs have no driver; PF1's are on iavf already.
    const first = await pool.acquire({ owner: 'a', name: TEN_G, driver: 'kernel' });
    expect(first.address).toBe('0000:01:00.1');
    hw.setDriver('0000:02:00.3', 'iavf');
    expect((await pool.acquire({ owner: 'b', name: TEN_G, driver: 'kernel' })).address).toBe('0000:02:00.3');
  });

  it('gives the VF with its netdev, PF and group, rebinding an unbound VF and waiting for its netdev', async () => {
    const { pool, hw } = fx.make([{ ...PF2, vfsBound: false }]);
    const lease = await pool.acquire({ owner: 'conn-1', name: 'other.domain/10G', driver: 'kernel' });
    expect(lease).toEqual({
      owner: 'conn-1',
      name: 'other.domain/10G',
      tokenId: sriovTokenId('other.domain/10G', '0000:02:00.1'),
      driver: 'kernel',
      address: '0000:02:00.1',
      pfAddress: '0000:02:00.0',
      index: 0,
      iommuGroup: 2,
      pfNetdev: 'ens2f0',
      netdev: 'ens2f0v0',
      vfio: undefined,
    });
    expect(hw.driverOf('0000:02:00.1')).toBe('iavf');
    expect(readFileSync(join(hw.root, 'bus/pci/devices/0000:02:00.1/driver_override'), 'utf8')).toBe('iavf');
    expect(hw.driverOf('0000:02:00.2')).toBeUndefined(); // its own group: left alone
    expect(pool.heldBy('conn-1')).toBe(lease);
    expect(pool.tokens('other.domain/10G')[0]?.holder).toBe('conn-1');
  });

  it('refuses the n+1th acquire of a pool with RESOURCE_EXHAUSTED naming the pool, its size and holders', async () => {
    const { pool } = fx.make([PF1, PF2]);
    await pool.acquire({ owner: 'conn-a', name: 'worker.domain/intel', driver: 'kernel' });
    await pool.acquire({ owner: 'conn-b', name: 'worker.domain/intel', driver: 'kernel' });
    const err = await refusal(pool, { owner: 'conn-c', name: 'worker.domain/intel', driver: 'kernel' });
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(err.message).toBe(
      'pool worker.domain/intel has no VF left for kernel: it has 2 VFs; held: 0000:01:00.1 by conn-a, 0000:01:00.2 by conn-b',
    );
    // The PF's VFs are gone from its other pools too; PF2's are still there.
    expect((await pool.acquire({ owner: 'conn-c', name: TEN_G, driver: 'kernel' })).pfAddress).toBe(
      '0000:02:00.0',
    );
  });

  it('never gives one VF to two concurrent acquires', async () => {
    const { pool } = fx.make([{ ...PF1, vfsBound: false }]);
    const results = await Promise.allSettled(
      ['a', 'b', 'c'].map((owner) => pool.acquire({ owner, name: TEN_G, driver: 'kernel' })),
    );
    const leases = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(leases.map((l) => l.address).sort()).toEqual(['0000:01:00.1', '0000:01:00.2']);
    expect(new Set(leases.map((l) => l.netdev)).size).toBe(2);
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as NsmError] : []));
    expect(rejected.map((e) => e.code)).toEqual([Code.RESOURCE_EXHAUSTED]);
  });

  it('takes a VF back on release, leaving its driver, and gives it again', async () => {
    const { pool, hw } = fx.make([PF1]);
    const lease = await pool.acquire({ owner: 'a', name: 'worker.domain/intel', driver: 'kernel' });
    expect(pool.release('a')).toBe(lease);
    expect(pool.release('a')).toBeUndefined();
    expect(pool.heldBy('a')).toBeUndefined();
    expect(pool.tokens().every((t) => t.holder === undefined)).toBe(true);
    expect(hw.driverOf(lease.address)).toBe('iavf');
    expect((await pool.acquire({ owner: 'b', name: 'worker.domain/intel', driver: 'kernel' })).address).toBe(
      lease.address,
    );
  });

  it('takes the VF of a given token, and says why when the token cannot be had', async () => {
    const { pool } = fx.make([PF1, PF2]);
    const token = sriovTokenId(TEN_G, '0000:02:00.3');
    const lease = await pool.acquire({ owner: 'a', tokenId: token, driver: 'kernel' });
    expect([lease.address, lease.name, lease.tokenId]).toEqual(['0000:02:00.3', TEN_G, token]);
    const inUse = await refusal(pool, { owner: 'b', tokenId: token, driver: 'kernel' });
    expect([inUse.code, inUse.message]).toEqual([
      Code.FAILED_PRECONDITION,
      `SR-IOV token ${token} (VF 0000:02:00.3) is in use by a`,
    ]);
    // The same VF under its other pool's token is taken too.
    const sibling = await refusal(pool, {
      owner: 'b',
      tokenId: sriovTokenId('other.domain/10G', '0000:02:00.3'),
      driver: 'kernel',
    });
    expect(sibling.message).toMatch(/VF 0000:02:00.3\) is in use by a/);
    const unknown = await refusal(pool, { owner: 'b', tokenId: 'nope', driver: 'kernel' });
    expect([unknown.code, unknown.message]).toEqual([
      Code.NOT_FOUND,
      'unknown SR-IOV token nope: expected a token of pools other.domain/10G, worker.domain/10G, worker.domain/intel',
    ]);
    const otherPool = sriovTokenId('worker.domain/intel', '0000:01:00.1');
    const mismatch = await refusal(pool, { owner: 'b', tokenId: otherPool, name: TEN_G, driver: 'kernel' });
    expect([mismatch.code, mismatch.message]).toEqual([
      Code.INVALID_ARGUMENT,
      `SR-IOV token ${otherPool} is of pool worker.domain/intel, not of ${TEN_G}`,
    ]);
  });

  it('gives an owner asking again the same lease, and refuses it a second VF', async () => {
    const { pool } = fx.make([PF1]);
    const [one, two] = await Promise.all([
      pool.acquire({ owner: 'a', name: TEN_G, driver: 'kernel' }),
      pool.acquire({ owner: 'a', name: TEN_G, driver: 'kernel' }),
    ]);
    expect(two).toBe(one);
    const other = await refusal(pool, { owner: 'a', name: 'worker.domain/intel', driver: 'kernel' });
    expect([other.code, other.message]).toEqual([
      Code.FAILED_PRECONDITION,
      `a already holds VF 0000:01:00.1 (${TEN_G}, kernel): release it before asking for another`,
    ]);
  });

  it('refuses unknown pools and requests without a name, token or owner', async () => {
    const { pool } = fx.make([PF1]);
    const unknown = await refusal(pool, { owner: 'a', name: 'worker.domain/40G', driver: 'kernel' });
    expect([unknown.code, unknown.message]).toEqual([
      Code.NOT_FOUND,
      'no SR-IOV pool worker.domain/40G: fake SR-IOV config offers worker.domain/10G, worker.domain/intel',
    ]);
    expect((await refusal(pool, { owner: 'a', driver: 'kernel' })).message).toBe(
      'SR-IOV acquire needs a pool name or a token id, got neither',
    );
    expect((await refusal(pool, { owner: '', name: TEN_G, driver: 'kernel' })).code).toBe(
      Code.INVALID_ARGUMENT,
    );
  });

  it('adopts a VF found in use, which then is not given to others', async () => {
    const { pool, hw } = fx.make([PF1]);
    const lease = pool.adopt('restarted', '0000:01:00.2', { name: TEN_G });
    expect(lease).toMatchObject({
      driver: 'kernel',
      netdev: 'ens1f0v1',
      tokenId: sriovTokenId(TEN_G, '0000:01:00.2'),
    });
    expect(pool.adopt('restarted', '0000:01:00.2')).toBe(lease);
    expect(() => pool.adopt('other', '0000:01:00.2')).toThrow(
      'VF 0000:01:00.2 is held by restarted, not other',
    );
    expect(() => pool.adopt('x', '0000:09:00.1')).toThrow(expect.objectContaining({ code: Code.NOT_FOUND }));
    hw.setDriver('0000:01:00.1', undefined);
    expect(() => pool.adopt('x', '0000:01:00.1')).toThrow(
      'VF 0000:01:00.1 is bound to no driver: expected iavf or vfio-pci to adopt it',
    );
    expect((await pool.acquire({ owner: 'new', name: TEN_G, driver: 'kernel' })).address).toBe(
      '0000:01:00.1',
    );
  });

  it('does not give VFs for vfio whose IOMMU group holds a device outside the pool, but does for kernel', async () => {
    const { pool, hw } = fx.make([{ ...PF1, groups: 'with-pf' }]);
    const err = await refusal(pool, { owner: 'a', name: TEN_G, driver: 'vfio' });
    expect([err.code, err.message]).toEqual([
      Code.RESOURCE_EXHAUSTED,
      `pool ${TEN_G} has no VF left for vfio: it has 2 VFs; ` +
        '0000:01:00.1 is free but its IOMMU group 1 also holds 0000:01:00.0, which vfio-pci would take from their drivers; ' +
        '0000:01:00.2 is free but its IOMMU group 1 also holds 0000:01:00.0, which vfio-pci would take from their drivers',
    ]);
    expect((await pool.acquire({ owner: 'a', name: TEN_G, driver: 'kernel' })).address).toBe('0000:01:00.1');
    expect(hw.driverOf('0000:01:00.0')).toBe('i40e');
  });

  it('gives the VF back and names the step when the kernel does not bind in time', async () => {
    // A watcher that never looks: the bind write has no effect within the pool's timeout.
    const { pool } = fx.make([{ ...PF1, vfsBound: false }], { bindTimeoutMs: 50 }, 60_000);
    const err = await refusal(pool, { owner: 'a', name: TEN_G, driver: 'kernel' });
    expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(err.message).toMatch(
      /^0000:01:00.1 is not bound to iavf 50 ms after writing it to .*\/bus\/pci\/drivers\/iavf\/bind \(it has no driver\)$/,
    );
    expect(pool.tokens().every((t) => t.holder === undefined)).toBe(true);
  });

  it('gives the VF back when the caller gives up', async () => {
    const { pool } = fx.make([{ ...PF1, vfsBound: false }], {}, 60_000);
    const controller = new AbortController();
    const pending = pool.acquire({ owner: 'a', name: TEN_G, driver: 'kernel', signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: Code.CANCELLED });
    expect(pool.heldBy('a')).toBeUndefined();
    expect(pool.tokens().every((t) => t.holder === undefined)).toBe(true);
    // Even when nothing would need waiting for.
    const bound = fx.make([PF1]).pool;
    await expect(
      bound.acquire({ owner: 'a', name: TEN_G, driver: 'kernel', signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: Code.CANCELLED });
    expect(bound.heldBy('a')).toBeUndefined();
  });
});

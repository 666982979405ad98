/** openSriovPool: the forwarder's settings to a pool, or the error that says what is wrong. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSriovPool } from './index.js';
import { createFakeSriov, type FakeSriov } from './testing/fake-sriov.js';

describe('openSriovPool', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });

  function setUp(config: string): { hw: FakeSriov; file: string } {
    const hw = createFakeSriov({
      pfs: [
        { address: '0000:01:00.0', driver: 'i40e', vfDriver: 'iavf', netdev: { name: 'ens1f0' }, vfs: 2 },
      ],
    });
    cleanups.push(() => hw.close());
    const dir = mkdtempSync(join(tmpdir(), 'nsm-sriov-open-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'sriov.yaml');
    writeFileSync(file, config);
    return { hw, file };
  }

  const pf = (address: string) =>
    `physicalFunctions:\n  ${address}:\n    pfKernelDriver: i40e\n    vfKernelDriver: iavf\n    capabilities: [10G]\n    serviceDomains: [worker.domain]\n`;

  it('opens the pools a good config names, one token per VF', () => {
    const { hw, file } = setUp(pf('0000:01:00.0'));
    const pool = openSriovPool({ configFile: file, sysfsRoot: hw.root, vfioDir: hw.vfioDir });
    expect(pool.names).toEqual(['worker.domain/10G']);
    expect(pool.tokens()).toHaveLength(2);
  });

  it('names the missing file, and a PF that sysfs does not have', () => {
    const { hw, file } = setUp(pf('0000:02:00.0'));
    expect(() =>
      openSriovPool({ configFile: `${file}.nope`, sysfsRoot: hw.root, vfioDir: hw.vfioDir }),
    ).toThrow(/sriov\.yaml\.nope/);
    expect(() => openSriovPool({ configFile: file, sysfsRoot: hw.root, vfioDir: hw.vfioDir })).toThrow(
      /0000:02:00\.0/,
    );
  });
});

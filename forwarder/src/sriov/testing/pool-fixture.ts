/** Emulated hardware with a pool over it, closed together: for the pool's suites. */
import { type SriovPoolOptions, createSriovPool, type SriovPool } from '../pool.js';
import { discoverSriov } from '../sysfs.js';
import { type FakePools, fakeSriovConfig } from './fake-config.js';
import { type FakePfOptions, type FakeSriov, createFakeSriov } from './fake-sriov.js';

/** One emulated PF and the pools it offers. */
export interface FixturePf extends FakePfOptions, FakePools {}

/**
 * A PF on bus `bus` (`0000:<bus>:00.0`, netdev `ens<bus>f0`, i40e/iavf, 2 VFs) whose netdevs exist
 * only in sysfs, so suites need no root: `plainPf(2, { vfs: 3, driver: 'ice' })`.
 */
export function plainPf(bus: number, extra: Partial<FixturePf> = {}): FixturePf {
  const bb = bus.toString(16).padStart(2, '0');
  return {
    address: `0000:${bb}:00.0`,
    driver: 'i40e',
    vfDriver: 'iavf',
    netdev: { name: `ens${bus}f0` },
    vfs: 2,
    ...extra,
  };
}

/**
 * Builds emulated hardware and a pool over it; {@link SriovPoolFixture.close} closes every one made.
 * Usage: `const fx = new SriovPoolFixture(); afterEach(() => fx.close()); const { hw, pool } = fx.make([pf1]);`
 */
export class SriovPoolFixture {
  private readonly made: FakeSriov[] = [];

  /**
   * Hardware with these PFs and a pool over it (its VFIO dir the hardware's; 5 s to bind, as the
   * shared test machines can be slow). `watcherPollMs` slows the emulated kernel down.
   */
  make(
    pfs: readonly FixturePf[],
    options: SriovPoolOptions = {},
    watcherPollMs?: number,
  ): { hw: FakeSriov; pool: SriovPool } {
    const hw = createFakeSriov({ pfs, ...(watcherPollMs === undefined ? {} : { pollMs: watcherPollMs }) });
    this.made.push(hw);
    const inventory = discoverSriov(fakeSriovConfig(hw, pfs), { root: hw.root });
    const pool = createSriovPool(inventory, {
      vfioDir: hw.vfioDir,
      pollMs: 2,
      bindTimeoutMs: 5000,
      ...options,
    });
    return { hw, pool };
  }

  /** Closes all hardware made, even when one close fails. */
  close(): void {
    const errors: unknown[] = [];
    for (const hw of this.made.splice(0).reverse()) {
      try {
        if (hw.errors.length > 0) errors.push(new Error(`fake SR-IOV errors: ${hw.errors.join('; ')}`));
        hw.close();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'SR-IOV fixture cleanup failed');
  }
}

/**
 * The SR-IOV token pool: hands out VFs of the configured PFs by pool name or token, bound to the
 * driver the pod needs, and takes them back.
 */
import { Code, NsmError, SerialExecutor, invalidArgument } from '@nsm-ts/sdk/core';
import { VFIO_PCI_DRIVER } from './pci-sysfs.js';
import { type Hold, type VfLease, leaseOf, matches, prepareVf } from './lease.js';
import {
  type PoolVf,
  type SelectionState,
  type VfDriverKind,
  blockedBecause,
  driverFor,
  exhausted,
  pickVf,
} from './select.js';
import { readSriovConfigFile } from './config.js';
import { discoverSriov, type SriovInventory } from './sysfs.js';
import { type InventoryIndex, indexInventory, sriovTokenId } from './tokens.js';
import { DEFAULT_VFIO_DIR } from './vfio.js';
import type { PollOptions } from './wait.js';

/** How the pool binds drivers. */
export interface SriovPoolOptions {
  /** Stands for `/dev/vfio` (default). */
  readonly vfioDir?: string;
  /** How long each rebind step may take, and the netdev or VFIO node to appear (ms, default 1000 as upstream). */
  readonly bindTimeoutMs?: number;
  /** How often to look at sysfs while waiting (ms, default 10). */
  readonly pollMs?: number;
}

/** A token: the right to one VF under one pool name. */
export interface SriovToken {
  /** Stable and unique: see {@link sriovTokenId}. */
  readonly id: string;
  /** `<serviceDomain>/<capability>`. */
  readonly name: string;
  readonly vfAddress: string;
  readonly pfAddress: string;
  /** Who holds the VF, undefined while it is free. */
  readonly holder: string | undefined;
}

/** What {@link SriovPool.acquire} is asked for: a pool name, or a token (of a free VF). */
export interface AcquireRequest {
  /** Who holds the VF until {@link SriovPool.release}: a connection id. One VF per owner. */
  readonly owner: string;
  readonly name?: string;
  readonly tokenId?: string;
  readonly driver: VfDriverKind;
  /** Aborting stops the wait (CANCELLED) and gives the VF back. */
  readonly signal?: AbortSignal;
}

/**
 * The pool of one forwarder. Selection and reservation are synchronous, so concurrent acquires
 * never pick the same VF; rebinds run one at a time, so their sysfs writes never interleave.
 */
export class SriovPool {
  /** Every pool name, sorted. */
  readonly names: readonly string[];
  private readonly index: InventoryIndex;
  private readonly holds = new Map<string, Hold>();
  private readonly holdsByVf = new Map<string, Hold>();
  private readonly rebinds = new SerialExecutor();
  private readonly vfioDir: string;
  private readonly poll: PollOptions;
  private readonly state: SelectionState;

  constructor(
    readonly inventory: SriovInventory,
    options: SriovPoolOptions = {},
  ) {
    this.vfioDir = options.vfioDir ?? DEFAULT_VFIO_DIR;
    this.poll = { timeoutMs: options.bindTimeoutMs ?? 1000, pollMs: options.pollMs ?? 10 };
    this.index = indexInventory(inventory);
    this.names = this.index.names;
    this.state = {
      holderOf: (address) => this.holdsByVf.get(address),
      vfsInGroup: (group) => this.index.groups.get(group) ?? [],
      outsidersInGroup: (group) =>
        (inventory.iommuGroups.get(group) ?? []).filter((a) => !this.index.vfs.has(a)),
      groupBoundTo: (group, driver) =>
        (this.index.groups.get(group) ?? []).every(
          (vf) => inventory.sysfs.driverOf(vf.vf.address) === driverFor(vf, driver),
        ),
    };
  }

  /** Every token (of `name` only, when given), by name then VF address, with who holds its VF. */
  tokens(name?: string): SriovToken[] {
    return [...this.index.tokens]
      .filter(([, t]) => name === undefined || t.name === name)
      .map(([id, t]) => ({
        id,
        name: t.name,
        vfAddress: t.vf.vf.address,
        pfAddress: t.vf.pf.address,
        holder: this.holdsByVf.get(t.vf.vf.address)?.owner,
      }))
      .sort((a, b) => (a.name === b.name ? cmp(a.vfAddress, b.vfAddress) : cmp(a.name, b.name)));
  }

  /**
   * Picks a free VF whose PF offers `name` (or the VF of `tokenId`), rebinds every pool VF of its
   * IOMMU group to the wanted driver (`vfKernelDriver`, or `vfio-pci`), and waits for the VF's
   * netdev or the group's VFIO node. The same owner asking again for the same gets the same lease.
   * RESOURCE_EXHAUSTED when the pool has no VF left; NOT_FOUND for an unknown name or token.
   * Usage: `const lease = await pool.acquire({ owner: conn.id, name: 'worker.domain/10G', driver: 'kernel' })`.
   */
  acquire(request: AcquireRequest): Promise<VfLease> {
    try {
      const existing = this.holds.get(request.owner);
      if (existing) return this.again(existing, request);
      const { vf, name, tokenId } = this.choose(request);
      const hold: Hold = { owner: request.owner, vf, driver: request.driver, name, tokenId };
      this.holds.set(hold.owner, hold);
      this.holdsByVf.set(vf.vf.address, hold);
      hold.pending = this.bind(hold, request.signal);
      return hold.pending;
    } catch (err) {
      return Promise.reject(NsmError.from(err, Code.INTERNAL));
    }
  }

  /**
   * Gives the owner's VF back, even while it is being bound; the driver is left as it is (as
   * upstream: the next acquire rebinds if it must). Undefined when the owner holds nothing.
   */
  release(owner: string): VfLease | undefined {
    const hold = this.holds.get(owner);
    if (!hold) return undefined;
    this.drop(hold);
    return hold.lease;
  }

  /** The owner's lease, once its VF is bound. */
  heldBy(owner: string): VfLease | undefined {
    return this.holds.get(owner)?.lease;
  }

  /**
   * Marks a VF found in use (by a restarted forwarder) as held by `owner`, with the driver sysfs
   * shows (`vfKernelDriver` → kernel, `vfio-pci` → vfio). NOT_FOUND for a VF not in the pool,
   * FAILED_PRECONDITION when it is held by another owner or bound to neither driver.
   * Usage: `pool.adopt(conn.id, '0000:01:00.1', { name: 'worker.domain/10G' })`.
   */
  adopt(owner: string, vfAddress: string, options: { readonly name?: string } = {}): VfLease {
    const vf = this.index.vfs.get(vfAddress);
    if (!vf)
      throw new NsmError(Code.NOT_FOUND, `no VF ${vfAddress} in the SR-IOV pool of ${this.inventory.source}`);
    const holder = this.holdsByVf.get(vfAddress);
    if (holder?.owner === owner && holder.lease) return holder.lease;
    if (holder)
      throw new NsmError(
        Code.FAILED_PRECONDITION,
        `VF ${vfAddress} is held by ${holder.owner}, not ${owner}`,
      );
    this.checkOwnerFree(owner);
    if (options.name !== undefined && !vf.names.includes(options.name)) {
      throw invalidArgument(
        `VF ${vfAddress} is not in pool ${options.name}: its PF offers ${vf.names.join(', ')}`,
      );
    }
    const bound = this.inventory.sysfs.driverOf(vfAddress);
    const driver =
      bound === VFIO_PCI_DRIVER ? 'vfio' : bound === vf.pf.config.vfKernelDriver ? 'kernel' : undefined;
    if (!driver) {
      throw new NsmError(
        Code.FAILED_PRECONDITION,
        `VF ${vfAddress} is bound to ${bound ?? 'no driver'}: expected ${vf.pf.config.vfKernelDriver} or ${VFIO_PCI_DRIVER} to adopt it`,
      );
    }
    const name = options.name;
    const hold: Hold = {
      owner,
      vf,
      driver,
      name,
      tokenId: name === undefined ? undefined : sriovTokenId(name, vfAddress),
    };
    hold.lease = leaseOf(hold, this.inventory.sysfs, this.vfioDir, undefined);
    this.holds.set(owner, hold);
    this.holdsByVf.set(vfAddress, hold);
    return hold.lease;
  }

  private again(hold: Hold, request: AcquireRequest): Promise<VfLease> {
    if (!matches(hold, request)) {
      throw new NsmError(
        Code.FAILED_PRECONDITION,
        `${hold.owner} already holds VF ${hold.vf.vf.address} (${hold.name ?? 'adopted'}, ${hold.driver}): release it before asking for another`,
      );
    }
    return hold.lease
      ? Promise.resolve(hold.lease)
      : (hold.pending ?? Promise.reject(new Error('lease lost')));
  }

  private choose(request: AcquireRequest): { vf: PoolVf; name: string; tokenId: string } {
    if (request.owner === '')
      throw invalidArgument('SR-IOV acquire without an owner: expected a connection id');
    if (request.driver === 'vfio' && !this.inventory.sysfs.hasDriver(VFIO_PCI_DRIVER)) {
      throw new NsmError(
        Code.FAILED_PRECONDITION,
        `driver ${VFIO_PCI_DRIVER} is not loaded (no ${this.inventory.sysfs.driversDir}/${VFIO_PCI_DRIVER}): modprobe vfio-pci`,
      );
    }
    if (request.tokenId !== undefined) return this.chooseToken(request.tokenId, request);
    const name = request.name;
    if (name === undefined)
      throw invalidArgument('SR-IOV acquire needs a pool name or a token id, got neither');
    if (!this.names.includes(name)) {
      throw new NsmError(
        Code.NOT_FOUND,
        `no SR-IOV pool ${name}: ${this.inventory.source} offers ${this.names.join(', ')}`,
      );
    }
    const inPool = [...this.index.vfs.values()].filter((vf) => vf.names.includes(name));
    const free = inPool.filter(
      (vf) => !this.holdsByVf.has(vf.vf.address) && !blockedBecause(vf, request.driver, this.state),
    );
    const vf = pickVf(free, request.driver, this.state);
    if (!vf) throw exhausted(name, inPool, request.driver, this.state);
    return { vf, name, tokenId: sriovTokenId(name, vf.vf.address) };
  }

  private chooseToken(
    tokenId: string,
    request: AcquireRequest,
  ): { vf: PoolVf; name: string; tokenId: string } {
    const token = this.index.tokens.get(tokenId);
    if (!token) {
      throw new NsmError(
        Code.NOT_FOUND,
        `unknown SR-IOV token ${tokenId}: expected a token of pools ${this.names.join(', ')}`,
      );
    }
    if (request.name !== undefined && request.name !== token.name) {
      throw invalidArgument(`SR-IOV token ${tokenId} is of pool ${token.name}, not of ${request.name}`);
    }
    const address = token.vf.vf.address;
    const holder = this.holdsByVf.get(address);
    if (holder) {
      throw new NsmError(
        Code.FAILED_PRECONDITION,
        `SR-IOV token ${tokenId} (VF ${address}) is in use by ${holder.owner}`,
      );
    }
    const blocked = blockedBecause(token.vf, request.driver, this.state);
    if (blocked)
      throw new NsmError(
        Code.FAILED_PRECONDITION,
        `VF ${address} of token ${tokenId} cannot be used: ${blocked}`,
      );
    return { vf: token.vf, name: token.name, tokenId };
  }

  private async bind(hold: Hold, signal: AbortSignal | undefined): Promise<VfLease> {
    const poll = { ...this.poll, signal };
    try {
      const group = this.index.groups.get(hold.vf.vf.iommuGroup) ?? [];
      const lease = await this.rebinds.run('sysfs', () =>
        prepareVf(hold, group, this.inventory.sysfs, this.vfioDir, poll),
      );
      if (this.holds.get(hold.owner) !== hold) {
        throw new NsmError(
          Code.CANCELLED,
          `${hold.owner} released VF ${hold.vf.vf.address} while it was being bound`,
        );
      }
      hold.lease = lease;
      return lease;
    } catch (err) {
      if (this.holds.get(hold.owner) === hold) this.drop(hold);
      throw NsmError.from(err, Code.INTERNAL);
    }
  }

  private drop(hold: Hold): void {
    this.holds.delete(hold.owner);
    if (this.holdsByVf.get(hold.vf.vf.address) === hold) this.holdsByVf.delete(hold.vf.vf.address);
  }

  private checkOwnerFree(owner: string): void {
    const held = this.holds.get(owner);
    if (held) {
      throw new NsmError(
        Code.FAILED_PRECONDITION,
        `${owner} already holds VF ${held.vf.vf.address}: release it first`,
      );
    }
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A pool over discovered PFs. Usage:
 * `const pool = createSriovPool(discoverSriov(readSriovConfigFile(file), { root }), { vfioDir })`.
 */
export function createSriovPool(inventory: SriovInventory, options: SriovPoolOptions = {}): SriovPool {
  return new SriovPool(inventory, options);
}

/**
 * The pool of a forwarder from its settings: reads the config file, checks it against sysfs and
 * makes the pool; throws the config's or the discovery's errors, each naming what is wrong.
 * Usage: `const pool = openSriovPool({ configFile: '/etc/nsm/sriov.yaml', sysfsRoot: '/sys', vfioDir: '/dev/vfio' })`.
 */
export function openSriovPool(o: { configFile: string; sysfsRoot: string; vfioDir: string }): SriovPool {
  const inventory = discoverSriov(readSriovConfigFile(o.configFile), { root: o.sysfsRoot });
  return createSriovPool(inventory, { vfioDir: o.vfioDir });
}

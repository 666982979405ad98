/** One prefix of the point-to-point IPAM and the addresses of it in use. */
import { contains, formatCidr, hostRange, isReserved, type Cidr } from '../../../tools/cidr/cidr.js';

/**
 * The addresses of one prefix; all methods are synchronous so allocation never interleaves.
 * Usage: `const pool = new AddressPool(parseCidr('10.60.1.0/24'))`.
 */
export class AddressPool {
  readonly text: string;
  private readonly used = new Set<bigint>();

  constructor(readonly prefix: Cidr) {
    this.text = formatCidr(prefix);
  }

  /** Addresses in use. */
  get inUse(): number {
    return this.used.size;
  }

  /** Whether `value` may be handed out: inside, a host address, free and not excluded. */
  canTake(value: bigint, excluded: readonly Cidr[]): boolean {
    const ip = { family: this.prefix.family, value };
    return (
      contains(this.prefix, ip) &&
      !isReserved(this.prefix, value) &&
      !this.used.has(value) &&
      !excluded.some((e) => contains(e, ip))
    );
  }

  /** Marks `value` in use. */
  take(value: bigint): void {
    this.used.add(value);
  }

  /** Marks `value` free. */
  release(value: bigint): void {
    this.used.delete(value);
  }

  /**
   * The lowest free, non-excluded host address. Excluded ranges are jumped over, so the cost is bounded
   * by the addresses in use plus the excluded prefixes, not by the size of the prefix.
   */
  nextFree(excluded: readonly Cidr[]): bigint | undefined {
    const { first, last } = hostRange(this.prefix);
    const ranges = excluded.filter((e) => e.family === this.prefix.family);
    let value = first;
    while (value <= last) {
      if (this.used.has(value)) {
        value++;
        continue;
      }
      const hit = ranges.find((e) => value >= e.network && value <= e.last);
      if (!hit) return value;
      value = hit.last + 1n;
    }
    return undefined;
  }
}

/** PCI addresses as sysfs spells them: `dddd:bb:dd.f`, lowercase hex. */

/** The form every PCI address must have, as error messages put it. */
export const PCI_ADDRESS_FORM =
  'a PCI address dddd:bb:dd.f (hex domain:bus:device.function, e.g. 0000:01:00.0)';

const PCI_ADDRESS = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i;

/** The parts of a PCI address. */
export interface PciAddressParts {
  readonly domain: number;
  readonly bus: number;
  /** 0 to 0x1f. */
  readonly device: number;
  /** 0 to 7. */
  readonly fn: number;
}

/**
 * The parts of `text` when it is a PCI address `dddd:bb:dd.f` (hex, device at most 1f), else
 * undefined. Usage: `parsePciAddress('0000:01:00.1')?.fn` → 1.
 */
export function parsePciAddress(text: string): PciAddressParts | undefined {
  const m = PCI_ADDRESS.exec(text);
  if (!m) return undefined;
  const [domain, bus, device, fn] = m.slice(1).map((part) => parseInt(part, 16)) as [
    number,
    number,
    number,
    number,
  ];
  if (device > 0x1f) return undefined;
  return { domain, bus, device, fn };
}

/** Formats parts as sysfs names the device: `formatPciAddress({ domain: 0, bus: 1, device: 0, fn: 1 })` → `0000:01:00.1`. */
export function formatPciAddress(parts: PciAddressParts): string {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  return `${hex(parts.domain, 4)}:${hex(parts.bus, 2)}:${hex(parts.device, 2)}.${parts.fn}`;
}

/** The sysfs spelling (lowercase) of a valid PCI address, or undefined for anything else. */
export function normalizePciAddress(text: string): string | undefined {
  return parsePciAddress(text) ? text.toLowerCase() : undefined;
}

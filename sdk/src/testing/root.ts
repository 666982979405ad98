/**
 * Suites that build network namespaces and interfaces need root. As another user they skip
 * themselves and say why (the suite title), rather than fail.
 * Usage: `describe.skipIf(!isRoot)(rootTitle('kernel wires'), () => { ... })`.
 */

/** Whether this process runs as root. */
export const isRoot = process.getuid?.() === 0;

/** The title of a suite that needs root: as given for root, with the reason it is skipped otherwise. */
export function rootTitle(title: string): string {
  return isRoot ? title : `${title} — skipped: needs root (it builds network namespaces and interfaces)`;
}

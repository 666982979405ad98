/** Field checks of the SR-IOV config: each appends `<path>: <what is wrong>, expected <form>`. */

/** Problems found so far, one line each. */
export type Problems = string[];

/** "a number (5)", "a list", "null" ...: what a value was, for messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'empty (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value} (${JSON.stringify(value)})`;
}

/** The value as a plain mapping, or undefined after recording why not. */
export function checkMapping(
  value: unknown,
  path: string,
  expected: string,
  problems: Problems,
): Record<string, unknown> | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  problems.push(`${path}: is ${describeValue(value)}, expected ${expected}`);
  return undefined;
}

/** Records every key of `mapping` that is not in `known`. */
export function checkKeys(
  mapping: Record<string, unknown>,
  path: string,
  known: readonly string[],
  problems: Problems,
): void {
  for (const key of Object.keys(mapping)) {
    if (!known.includes(key)) {
      const at = path === '' ? key : `${path}.${key}`;
      problems.push(`${at}: unknown key, expected one of ${known.join(', ')}`);
    }
  }
}

/** Characters a driver, capability or service domain name cannot hold: pool names join them with '/' and lists with ','. */
const BAD_NAME = /[/,\s]/;

/** A non-empty string without '/', ',' or white space, or undefined after recording why not. */
export function checkName(
  value: unknown,
  path: string,
  expected: string,
  problems: Problems,
): string | undefined {
  if (typeof value === 'number') {
    problems.push(
      `${path}: is ${describeValue(value)}, expected ${expected} as a string (quote it: "${value}")`,
    );
    return undefined;
  }
  if (typeof value !== 'string' || value === '' || BAD_NAME.test(value)) {
    const what = typeof value === 'string' ? JSON.stringify(value) : describeValue(value);
    problems.push(`${path}: is ${what}, expected ${expected} (non-empty, without '/', ',' or spaces)`);
    return undefined;
  }
  return value;
}

/** A non-empty list of distinct names, or undefined after recording why not. */
export function checkNames(
  value: unknown,
  path: string,
  what: string,
  problems: Problems,
): string[] | undefined {
  const expected = `a non-empty list of ${what} names, e.g. [${what === 'capability' ? 'intel, 10G' : 'worker.domain'}]`;
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(
      `${path}: is ${Array.isArray(value) ? 'an empty list' : describeValue(value)}, expected ${expected}`,
    );
    return undefined;
  }
  const names: string[] = [];
  let ok = true;
  value.forEach((item: unknown, i) => {
    const name = checkName(item, `${path}[${i}]`, `a ${what} name`, problems);
    if (name === undefined) ok = false;
    else if (names.includes(name)) {
      problems.push(`${path}[${i}]: "${name}" is listed twice, expected each ${what} once`);
      ok = false;
    } else names.push(name);
  });
  return ok ? names : undefined;
}

/** A non-negative integer, or undefined after recording why not. */
export function checkInteger(value: unknown, path: string, problems: Problems): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  problems.push(`${path}: is ${describeValue(value)}, expected an IOMMU group number (0 or more)`);
  return undefined;
}

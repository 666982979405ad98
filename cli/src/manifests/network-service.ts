/** The `networkservicemesh.io/v1` `NetworkService` kind: its spec is the registry message of the NSM API (proto/registry). */
import type { Destination, Match, NetworkService } from '@nsm-ts/sdk/api';
import { checkKeys, listAt, mapAt, stringAt, stringMapAt } from './fields.js';
import { labelProblems, selectorProblems } from './names.js';
import { describe, formatPath, type FieldPath, type ManifestDoc } from './report.js';

/** Payloads a network service may carry. */
export const PAYLOADS = ['ETHERNET', 'IP'] as const;

function selector(doc: ManifestDoc, path: FieldPath): Record<string, string> {
  const map = stringMapAt(doc, path);
  for (const problem of selectorProblems(map, formatPath(path))) doc.error(path, problem);
  return map;
}

function route(doc: ManifestDoc, path: FieldPath): Destination {
  checkKeys(doc, path, ['destination_selector', 'weight']);
  const weight = doc.get([...path, 'weight']) ?? 0;
  const ok = typeof weight === 'number' && Number.isInteger(weight) && weight >= 0 && weight <= 0xffffffff;
  if (!ok) {
    doc.error(
      [...path, 'weight'],
      `${formatPath([...path, 'weight'])} is ${describe(weight)}; expected a non-negative integer (0 counts as 1)`,
    );
  }
  return { destination_selector: selector(doc, [...path, 'destination_selector']), weight: ok ? weight : 0 };
}

function match(doc: ManifestDoc, path: FieldPath): Match | undefined {
  if (!mapAt(doc, path, true)) return undefined;
  checkKeys(doc, path, ['source_selector', 'routes', 'fallthrough', 'metadata']);
  const fallthrough = doc.get([...path, 'fallthrough']) ?? false;
  if (typeof fallthrough !== 'boolean') {
    doc.error(
      [...path, 'fallthrough'],
      `${formatPath([...path, 'fallthrough'])} is ${describe(fallthrough)}; expected true or false`,
    );
  }
  let metadata: Match['metadata'] = null;
  if (mapAt(doc, [...path, 'metadata'])) {
    checkKeys(doc, [...path, 'metadata'], ['labels']);
    const labelsPath = [...path, 'metadata', 'labels'];
    const labels = stringMapAt(doc, labelsPath);
    for (const problem of labelProblems(labels, formatPath(labelsPath))) doc.error(labelsPath, problem);
    metadata = { labels };
  }
  const routes = listAt(doc, [...path, 'routes'], 'a list of { destination_selector, weight }');
  return {
    source_selector: selector(doc, [...path, 'source_selector']),
    routes: routes.map((_, j) => route(doc, [...path, 'routes', j])),
    fallthrough: fallthrough === true,
    metadata,
  };
}

/**
 * Reads the spec of a NetworkService document named `name`, reporting every problem to `doc`.
 * Usage: `const ns = readNetworkService(doc, 'secure-intranet')`.
 */
export function readNetworkService(doc: ManifestDoc, name: string): NetworkService {
  if (!mapAt(doc, ['spec'], true)) return { name, payload: '', matches: [], path_ids: [] };
  const payload = stringAt(doc, ['spec', 'payload'], true, `one of ${PAYLOADS.join(', ')}`);
  if (payload !== undefined && !(PAYLOADS as readonly string[]).includes(payload)) {
    doc.error(['spec', 'payload'], `spec.payload is "${payload}"; expected one of ${PAYLOADS.join(', ')}`);
  }
  checkKeys(doc, ['spec'], ['payload', 'matches']);
  const matches = listAt(
    doc,
    ['spec', 'matches'],
    'a list of { source_selector, routes, fallthrough, metadata }',
  );
  return {
    name,
    payload: payload ?? '',
    matches: matches
      .map((_, i) => match(doc, ['spec', 'matches', i]))
      .filter((m): m is Match => m !== undefined),
    path_ids: [],
  };
}

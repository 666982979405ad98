/**
 * validate: rejects malformed registrations at the door with INVALID_ARGUMENT errors that say which
 * record, which field and what was expected, so that one bad NSE cannot poison the store.
 */
import type { NetworkService, NetworkServiceEndpoint } from '../../api/types.js';
import { invalidArgument } from '../../core/errors.js';
import { registryElement, type NseElement, type NsElement } from '../../core/registry-chain.js';
import { parseUrl } from '../../grpc/url.js';
import { MAX_LABEL_LENGTH, MAX_LABELS, labelKeyProblem } from '../../tools/labels.js';

export { MAX_LABEL_LENGTH, MAX_LABELS, labelKeyProblem } from '../../tools/labels.js';

/**
 * Checks one label map; `where` names it in the error. `checkValues` is off for selectors, whose
 * values may be templates such as `{{.nodeName}}`. Usage: `checkLabels(labels, 'NSE "a" labels for "vpn"')`.
 */
export function checkLabels(
  labels: Readonly<Record<string, string>>,
  where: string,
  checkValues = true,
): void {
  const keys = Object.keys(labels);
  if (keys.length > MAX_LABELS)
    throw invalidArgument(`${where}: ${keys.length} labels, at most ${MAX_LABELS} are allowed`);
  for (const key of keys) {
    const problem = labelKeyProblem(key);
    if (problem) throw invalidArgument(`${where}: ${problem}`);
    const value = labels[key] ?? '';
    if (checkValues && value.length > MAX_LABEL_LENGTH) {
      throw invalidArgument(
        `${where}: value of label "${key}" is ${value.length} characters long, at most ${MAX_LABEL_LENGTH} are allowed`,
      );
    }
  }
}

/** Throws INVALID_ARGUMENT when `nse` cannot be registered. Usage: `validateNseRecord(nse)`. */
export function validateNseRecord(nse: NetworkServiceEndpoint): void {
  const who = `network service endpoint "${nse.name}"`;
  if (nse.network_service_names.length === 0) {
    throw invalidArgument(
      `${who} lists no network_service_names: an endpoint must provide at least one network service`,
    );
  }
  nse.network_service_names.forEach((service, i) => {
    if (!service) throw invalidArgument(`${who}: network_service_names[${i}] is empty`);
  });
  for (const [service, value] of Object.entries(nse.network_service_labels)) {
    if (!service) throw invalidArgument(`${who}: network_service_labels has an empty service name as key`);
    checkLabels(value.labels, `${who} labels for service "${service}"`);
  }
  if (nse.url) {
    try {
      parseUrl(nse.url);
    } catch (err) {
      throw invalidArgument(`${who}: ${(err as Error).message}`);
    }
  }
}

/** Throws INVALID_ARGUMENT when `ns` cannot be registered. Usage: `validateNsRecord(ns)`. */
export function validateNsRecord(ns: NetworkService): void {
  if (!ns.name) throw invalidArgument('network service has an empty name; a name is required to register it');
  const who = `network service "${ns.name}"`;
  ns.matches.forEach((match, i) => {
    checkLabels(match.source_selector, `${who} matches[${i}].source_selector`, false);
    if (match.metadata) checkLabels(match.metadata.labels, `${who} matches[${i}].metadata.labels`);
    match.routes.forEach((route, j) => {
      checkLabels(
        route.destination_selector,
        `${who} matches[${i}].routes[${j}].destination_selector`,
        false,
      );
    });
  });
}

/** Validates NSE registrations. Usage: `toRegistryHandler([validateNse(), ...])`. */
export function validateNse(): NseElement {
  return registryElement({
    async register(ctx, nse, next) {
      validateNseRecord(nse);
      return await next.register(ctx, nse);
    },
  });
}

/** Validates NetworkService registrations. Usage: `toRegistryHandler([validateNs(), ...])`. */
export function validateNs(): NsElement {
  return registryElement({
    async register(ctx, ns, next) {
      validateNsRecord(ns);
      return await next.register(ctx, ns);
    },
  });
}

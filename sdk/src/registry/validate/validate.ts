/**
 * validate: rejects malformed registrations at the door with INVALID_ARGUMENT errors that say which
 * record, which field and what was expected, so that one bad NSE cannot poison the store.
 */
import type { NetworkService, NetworkServiceEndpoint } from '../../api/types.js';
import { invalidArgument } from '../../core/errors.js';
import { registryElement, type NseElement, type NsElement } from '../../core/registry-chain.js';
import { parseUrl } from '../../grpc/url.js';

/** The most labels one map may hold (per service for NSE labels, per selector for NS matches). */
export const MAX_LABELS = 64;
/** The longest label name part and label value (Kubernetes label rules). */
export const MAX_LABEL_LENGTH = 63;

const labelName = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid Kubernetes label key, or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  if (key === '') return 'label key is empty';
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !dnsSubdomain.test(prefix))) {
    return `label key "${key}" has a bad prefix: expected a DNS subdomain of at most 253 characters before "/"`;
  }
  if (name.length === 0 || name.length > MAX_LABEL_LENGTH || !labelName.test(name)) {
    return `label key "${key}" is invalid: the name part must be 1-${MAX_LABEL_LENGTH} characters [A-Za-z0-9-_.], starting and ending alphanumeric`;
  }
  return undefined;
}

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

/**
 * validate: rejects malformed registrations at the door with INVALID_ARGUMENT errors that say which
 * record, which field and what was expected, so that one bad NSE cannot poison the store. Label maps are
 * taken as they come (any strings, as upstream NSM): the Kubernetes rules apply to YAML, not to the wire.
 */
import type { NetworkService, NetworkServiceEndpoint } from '../../api/types.js';
import { invalidArgument } from '../../core/errors.js';
import { registryElement, type NseElement, type NsElement } from '../../core/registry-chain.js';
import { parseUrl } from '../../grpc/url.js';

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
  for (const service of Object.keys(nse.network_service_labels)) {
    if (!service) throw invalidArgument(`${who}: network_service_labels has an empty service name as key`);
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

/**
 * setPayload (registry server): a NetworkService registered without a payload gets `IP`, as upstream
 * NSM's registry does, so clients and forwarders always see which kind of traffic the service carries.
 */
import { registryElement, type NsElement } from '../../core/registry-chain.js';

/** The payload a service gets when it was registered with none. */
export const DEFAULT_PAYLOAD = 'IP';

/** Defaults an empty payload to `payload` (default `IP`). Usage: `toRegistryHandler([validateNs(), setPayload(), store])`. */
export function setPayload(payload = DEFAULT_PAYLOAD): NsElement {
  return registryElement({
    register: (ctx, ns, next) => next.register(ctx, ns.payload ? ns : { ...ns, payload }),
  });
}

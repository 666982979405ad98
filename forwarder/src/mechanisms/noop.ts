/** noopMechanism: the element for a NOOP mechanism; there is no data plane to build. */
import { type NetworkServiceElement, element } from '@nsm-ts/sdk/core';

/**
 * Passes requests and closes through unchanged (control-plane-only connections, endpoints outside
 * the node). Usage: `mechanisms({ ..., NOOP: noopMechanism() })`.
 */
export function noopMechanism(): NetworkServiceElement {
  return element({});
}

// Original file: registry/registry.proto

import type { NetworkServiceEndpoint as _registry_NetworkServiceEndpoint, NetworkServiceEndpoint__Output as _registry_NetworkServiceEndpoint__Output } from '../registry/NetworkServiceEndpoint.js';

export interface NetworkServiceEndpointResponse {
  'network_service_endpoint'?: (_registry_NetworkServiceEndpoint | null);
  'deleted'?: (boolean);
}

export interface NetworkServiceEndpointResponse__Output {
  'network_service_endpoint': (_registry_NetworkServiceEndpoint__Output | null);
  'deleted': (boolean);
}

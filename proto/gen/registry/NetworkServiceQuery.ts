// Original file: registry/registry.proto

import type { NetworkService as _registry_NetworkService, NetworkService__Output as _registry_NetworkService__Output } from '../registry/NetworkService.js';

export interface NetworkServiceQuery {
  'network_service'?: (_registry_NetworkService | null);
  'watch'?: (boolean);
}

export interface NetworkServiceQuery__Output {
  'network_service': (_registry_NetworkService__Output | null);
  'watch': (boolean);
}

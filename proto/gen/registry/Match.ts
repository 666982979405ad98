// Original file: registry/registry.proto

import type { Destination as _registry_Destination, Destination__Output as _registry_Destination__Output } from '../registry/Destination.js';
import type { Metadata as _registry_Metadata, Metadata__Output as _registry_Metadata__Output } from '../registry/Metadata.js';

export interface Match {
  'source_selector'?: ({[key: string]: string});
  'routes'?: (_registry_Destination)[];
  'fallthrough'?: (boolean);
  'metadata'?: (_registry_Metadata | null);
}

export interface Match__Output {
  'source_selector': ({[key: string]: string});
  'routes': (_registry_Destination__Output)[];
  'fallthrough': (boolean);
  'metadata': (_registry_Metadata__Output | null);
}

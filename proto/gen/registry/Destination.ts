// Original file: registry/registry.proto


export interface Destination {
  'destination_selector'?: ({[key: string]: string});
  'weight'?: (number);
}

export interface Destination__Output {
  'destination_selector': ({[key: string]: string});
  'weight': (number);
}

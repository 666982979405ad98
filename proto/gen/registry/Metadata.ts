// Original file: registry/registry.proto


export interface Metadata {
  'labels'?: ({[key: string]: string});
}

export interface Metadata__Output {
  'labels': ({[key: string]: string});
}

// Original file: registry/registry.proto


export interface NetworkServiceLabels {
  'labels'?: ({[key: string]: string});
}

export interface NetworkServiceLabels__Output {
  'labels': ({[key: string]: string});
}

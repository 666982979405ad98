// Original file: ipam/ipam.proto


export interface PrefixResponse {
  'prefix'?: (string);
  'exclude_prefixes'?: (string)[];
}

export interface PrefixResponse__Output {
  'prefix': (string);
  'exclude_prefixes': (string)[];
}

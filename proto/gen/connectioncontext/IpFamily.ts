// Original file: networkservice/connectioncontext.proto


// Original file: networkservice/connectioncontext.proto

export const _connectioncontext_IpFamily_Family = {
  IPV4: 'IPV4',
  IPV6: 'IPV6',
} as const;

export type _connectioncontext_IpFamily_Family =
  | 'IPV4'
  | 0
  | 'IPV6'
  | 1

export type _connectioncontext_IpFamily_Family__Output = typeof _connectioncontext_IpFamily_Family[keyof typeof _connectioncontext_IpFamily_Family]

export interface IpFamily {
  'family'?: (_connectioncontext_IpFamily_Family);
}

export interface IpFamily__Output {
  'family': (_connectioncontext_IpFamily_Family__Output);
}

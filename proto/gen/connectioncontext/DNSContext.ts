// Original file: networkservice/connectioncontext.proto

import type { DNSConfig as _connectioncontext_DNSConfig, DNSConfig__Output as _connectioncontext_DNSConfig__Output } from '../connectioncontext/DNSConfig.js';

export interface DNSContext {
  'configs'?: (_connectioncontext_DNSConfig)[];
}

export interface DNSContext__Output {
  'configs': (_connectioncontext_DNSConfig__Output)[];
}

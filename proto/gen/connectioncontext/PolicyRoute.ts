// Original file: networkservice/connectioncontext.proto

import type { Route as _connectioncontext_Route, Route__Output as _connectioncontext_Route__Output } from '../connectioncontext/Route.js';

export interface PolicyRoute {
  'from'?: (string);
  'proto'?: (string);
  'dst_port'?: (string);
  'src_port'?: (string);
  'routes'?: (_connectioncontext_Route)[];
}

export interface PolicyRoute__Output {
  'from': (string);
  'proto': (string);
  'dst_port': (string);
  'src_port': (string);
  'routes': (_connectioncontext_Route__Output)[];
}

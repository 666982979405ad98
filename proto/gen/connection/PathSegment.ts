// Original file: networkservice/connection.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../google/protobuf/Timestamp.js';

export interface PathSegment {
  'name'?: (string);
  'id'?: (string);
  'token'?: (string);
  'expires'?: (_google_protobuf_Timestamp | null);
  'metrics'?: ({[key: string]: string});
}

export interface PathSegment__Output {
  'name': (string);
  'id': (string);
  'token': (string);
  'expires': (_google_protobuf_Timestamp__Output | null);
  'metrics': ({[key: string]: string});
}

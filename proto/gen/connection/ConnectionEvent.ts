// Original file: networkservice/connection.proto

import type { ConnectionEventType as _connection_ConnectionEventType, ConnectionEventType__Output as _connection_ConnectionEventType__Output } from '../connection/ConnectionEventType.js';
import type { Connection as _connection_Connection, Connection__Output as _connection_Connection__Output } from '../connection/Connection.js';

export interface ConnectionEvent {
  'type'?: (_connection_ConnectionEventType);
  'connections'?: ({[key: string]: _connection_Connection});
}

export interface ConnectionEvent__Output {
  'type': (_connection_ConnectionEventType__Output);
  'connections': ({[key: string]: _connection_Connection__Output});
}

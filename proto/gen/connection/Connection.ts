// Original file: networkservice/connection.proto

import type { Mechanism as _connection_Mechanism, Mechanism__Output as _connection_Mechanism__Output } from '../connection/Mechanism.js';
import type { ConnectionContext as _connectioncontext_ConnectionContext, ConnectionContext__Output as _connectioncontext_ConnectionContext__Output } from '../connectioncontext/ConnectionContext.js';
import type { Path as _connection_Path, Path__Output as _connection_Path__Output } from '../connection/Path.js';
import type { State as _connection_State, State__Output as _connection_State__Output } from '../connection/State.js';

export interface Connection {
  'id'?: (string);
  'network_service'?: (string);
  'mechanism'?: (_connection_Mechanism | null);
  'context'?: (_connectioncontext_ConnectionContext | null);
  'labels'?: ({[key: string]: string});
  'path'?: (_connection_Path | null);
  'network_service_endpoint_name'?: (string);
  'payload'?: (string);
  'state'?: (_connection_State);
}

export interface Connection__Output {
  'id': (string);
  'network_service': (string);
  'mechanism': (_connection_Mechanism__Output | null);
  'context': (_connectioncontext_ConnectionContext__Output | null);
  'labels': ({[key: string]: string});
  'path': (_connection_Path__Output | null);
  'network_service_endpoint_name': (string);
  'payload': (string);
  'state': (_connection_State__Output);
}

import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Connection as _connection_Connection, Connection__Output as _connection_Connection__Output } from './connection/Connection.js';
import type { ConnectionEvent as _connection_ConnectionEvent, ConnectionEvent__Output as _connection_ConnectionEvent__Output } from './connection/ConnectionEvent.js';
import type { Mechanism as _connection_Mechanism, Mechanism__Output as _connection_Mechanism__Output } from './connection/Mechanism.js';
import type { MonitorConnectionClient as _connection_MonitorConnectionClient, MonitorConnectionDefinition as _connection_MonitorConnectionDefinition } from './connection/MonitorConnection.js';
import type { MonitorScopeSelector as _connection_MonitorScopeSelector, MonitorScopeSelector__Output as _connection_MonitorScopeSelector__Output } from './connection/MonitorScopeSelector.js';
import type { Path as _connection_Path, Path__Output as _connection_Path__Output } from './connection/Path.js';
import type { PathSegment as _connection_PathSegment, PathSegment__Output as _connection_PathSegment__Output } from './connection/PathSegment.js';
import type { ConnectionContext as _connectioncontext_ConnectionContext, ConnectionContext__Output as _connectioncontext_ConnectionContext__Output } from './connectioncontext/ConnectionContext.js';
import type { DNSConfig as _connectioncontext_DNSConfig, DNSConfig__Output as _connectioncontext_DNSConfig__Output } from './connectioncontext/DNSConfig.js';
import type { DNSContext as _connectioncontext_DNSContext, DNSContext__Output as _connectioncontext_DNSContext__Output } from './connectioncontext/DNSContext.js';
import type { EthernetContext as _connectioncontext_EthernetContext, EthernetContext__Output as _connectioncontext_EthernetContext__Output } from './connectioncontext/EthernetContext.js';
import type { ExtraPrefixRequest as _connectioncontext_ExtraPrefixRequest, ExtraPrefixRequest__Output as _connectioncontext_ExtraPrefixRequest__Output } from './connectioncontext/ExtraPrefixRequest.js';
import type { IPContext as _connectioncontext_IPContext, IPContext__Output as _connectioncontext_IPContext__Output } from './connectioncontext/IPContext.js';
import type { IpFamily as _connectioncontext_IpFamily, IpFamily__Output as _connectioncontext_IpFamily__Output } from './connectioncontext/IpFamily.js';
import type { IpNeighbor as _connectioncontext_IpNeighbor, IpNeighbor__Output as _connectioncontext_IpNeighbor__Output } from './connectioncontext/IpNeighbor.js';
import type { PolicyRoute as _connectioncontext_PolicyRoute, PolicyRoute__Output as _connectioncontext_PolicyRoute__Output } from './connectioncontext/PolicyRoute.js';
import type { Route as _connectioncontext_Route, Route__Output as _connectioncontext_Route__Output } from './connectioncontext/Route.js';
import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from './google/protobuf/Empty.js';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp.js';
import type { NetworkServiceClient as _networkservice_NetworkServiceClient, NetworkServiceDefinition as _networkservice_NetworkServiceDefinition } from './networkservice/NetworkService.js';
import type { NetworkServiceRequest as _networkservice_NetworkServiceRequest, NetworkServiceRequest__Output as _networkservice_NetworkServiceRequest__Output } from './networkservice/NetworkServiceRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  connection: {
    Connection: MessageTypeDefinition<_connection_Connection, _connection_Connection__Output>
    ConnectionEvent: MessageTypeDefinition<_connection_ConnectionEvent, _connection_ConnectionEvent__Output>
    ConnectionEventType: EnumTypeDefinition
    Mechanism: MessageTypeDefinition<_connection_Mechanism, _connection_Mechanism__Output>
    MonitorConnection: SubtypeConstructor<typeof grpc.Client, _connection_MonitorConnectionClient> & { service: _connection_MonitorConnectionDefinition }
    MonitorScopeSelector: MessageTypeDefinition<_connection_MonitorScopeSelector, _connection_MonitorScopeSelector__Output>
    Path: MessageTypeDefinition<_connection_Path, _connection_Path__Output>
    PathSegment: MessageTypeDefinition<_connection_PathSegment, _connection_PathSegment__Output>
    State: EnumTypeDefinition
  }
  connectioncontext: {
    ConnectionContext: MessageTypeDefinition<_connectioncontext_ConnectionContext, _connectioncontext_ConnectionContext__Output>
    DNSConfig: MessageTypeDefinition<_connectioncontext_DNSConfig, _connectioncontext_DNSConfig__Output>
    DNSContext: MessageTypeDefinition<_connectioncontext_DNSContext, _connectioncontext_DNSContext__Output>
    EthernetContext: MessageTypeDefinition<_connectioncontext_EthernetContext, _connectioncontext_EthernetContext__Output>
    ExtraPrefixRequest: MessageTypeDefinition<_connectioncontext_ExtraPrefixRequest, _connectioncontext_ExtraPrefixRequest__Output>
    IPContext: MessageTypeDefinition<_connectioncontext_IPContext, _connectioncontext_IPContext__Output>
    IpFamily: MessageTypeDefinition<_connectioncontext_IpFamily, _connectioncontext_IpFamily__Output>
    IpNeighbor: MessageTypeDefinition<_connectioncontext_IpNeighbor, _connectioncontext_IpNeighbor__Output>
    PolicyRoute: MessageTypeDefinition<_connectioncontext_PolicyRoute, _connectioncontext_PolicyRoute__Output>
    Route: MessageTypeDefinition<_connectioncontext_Route, _connectioncontext_Route__Output>
  }
  google: {
    protobuf: {
      Empty: MessageTypeDefinition<_google_protobuf_Empty, _google_protobuf_Empty__Output>
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp, _google_protobuf_Timestamp__Output>
    }
  }
  networkservice: {
    NetworkService: SubtypeConstructor<typeof grpc.Client, _networkservice_NetworkServiceClient> & { service: _networkservice_NetworkServiceDefinition }
    NetworkServiceRequest: MessageTypeDefinition<_networkservice_NetworkServiceRequest, _networkservice_NetworkServiceRequest__Output>
  }
}


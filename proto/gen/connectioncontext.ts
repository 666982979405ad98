import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

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

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
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
}


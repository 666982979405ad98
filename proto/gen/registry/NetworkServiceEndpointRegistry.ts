// Original file: registry/registry.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from '../google/protobuf/Empty.js';
import type { NetworkServiceEndpoint as _registry_NetworkServiceEndpoint, NetworkServiceEndpoint__Output as _registry_NetworkServiceEndpoint__Output } from '../registry/NetworkServiceEndpoint.js';
import type { NetworkServiceEndpointQuery as _registry_NetworkServiceEndpointQuery, NetworkServiceEndpointQuery__Output as _registry_NetworkServiceEndpointQuery__Output } from '../registry/NetworkServiceEndpointQuery.js';
import type { NetworkServiceEndpointResponse as _registry_NetworkServiceEndpointResponse, NetworkServiceEndpointResponse__Output as _registry_NetworkServiceEndpointResponse__Output } from '../registry/NetworkServiceEndpointResponse.js';

export interface NetworkServiceEndpointRegistryClient extends grpc.Client {
  Find(argument: _registry_NetworkServiceEndpointQuery, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_NetworkServiceEndpointResponse__Output>;
  Find(argument: _registry_NetworkServiceEndpointQuery, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_NetworkServiceEndpointResponse__Output>;
  find(argument: _registry_NetworkServiceEndpointQuery, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_NetworkServiceEndpointResponse__Output>;
  find(argument: _registry_NetworkServiceEndpointQuery, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_NetworkServiceEndpointResponse__Output>;
  
  Register(argument: _registry_NetworkServiceEndpoint, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_NetworkServiceEndpoint__Output>): grpc.ClientUnaryCall;
  Register(argument: _registry_NetworkServiceEndpoint, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_NetworkServiceEndpoint__Output>): grpc.ClientUnaryCall;
  Register(argument: _registry_NetworkServiceEndpoint, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_NetworkServiceEndpoint__Output>): grpc.ClientUnaryCall;
  Register(argument: _registry_NetworkServiceEndpoint, callback: grpc.requestCallback<_registry_NetworkServiceEndpoint__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_NetworkServiceEndpoint, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_NetworkServiceEndpoint__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_NetworkServiceEndpoint, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_NetworkServiceEndpoint__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_NetworkServiceEndpoint, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_NetworkServiceEndpoint__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_NetworkServiceEndpoint, callback: grpc.requestCallback<_registry_NetworkServiceEndpoint__Output>): grpc.ClientUnaryCall;
  
  Unregister(argument: _registry_NetworkServiceEndpoint, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Unregister(argument: _registry_NetworkServiceEndpoint, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Unregister(argument: _registry_NetworkServiceEndpoint, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Unregister(argument: _registry_NetworkServiceEndpoint, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregister(argument: _registry_NetworkServiceEndpoint, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregister(argument: _registry_NetworkServiceEndpoint, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregister(argument: _registry_NetworkServiceEndpoint, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregister(argument: _registry_NetworkServiceEndpoint, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  
}

export interface NetworkServiceEndpointRegistryHandlers extends grpc.UntypedServiceImplementation {
  Find: grpc.handleServerStreamingCall<_registry_NetworkServiceEndpointQuery__Output, _registry_NetworkServiceEndpointResponse>;
  
  Register: grpc.handleUnaryCall<_registry_NetworkServiceEndpoint__Output, _registry_NetworkServiceEndpoint>;
  
  Unregister: grpc.handleUnaryCall<_registry_NetworkServiceEndpoint__Output, _google_protobuf_Empty>;
  
}

export interface NetworkServiceEndpointRegistryDefinition extends grpc.ServiceDefinition {
  Find: MethodDefinition<_registry_NetworkServiceEndpointQuery, _registry_NetworkServiceEndpointResponse, _registry_NetworkServiceEndpointQuery__Output, _registry_NetworkServiceEndpointResponse__Output>
  Register: MethodDefinition<_registry_NetworkServiceEndpoint, _registry_NetworkServiceEndpoint, _registry_NetworkServiceEndpoint__Output, _registry_NetworkServiceEndpoint__Output>
  Unregister: MethodDefinition<_registry_NetworkServiceEndpoint, _google_protobuf_Empty, _registry_NetworkServiceEndpoint__Output, _google_protobuf_Empty__Output>
}

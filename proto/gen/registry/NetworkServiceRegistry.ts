// Original file: registry/registry.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from '../google/protobuf/Empty.js';
import type { NetworkService as _registry_NetworkService, NetworkService__Output as _registry_NetworkService__Output } from '../registry/NetworkService.js';
import type { NetworkServiceQuery as _registry_NetworkServiceQuery, NetworkServiceQuery__Output as _registry_NetworkServiceQuery__Output } from '../registry/NetworkServiceQuery.js';
import type { NetworkServiceResponse as _registry_NetworkServiceResponse, NetworkServiceResponse__Output as _registry_NetworkServiceResponse__Output } from '../registry/NetworkServiceResponse.js';

export interface NetworkServiceRegistryClient extends grpc.Client {
  Find(argument: _registry_NetworkServiceQuery, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_NetworkServiceResponse__Output>;
  Find(argument: _registry_NetworkServiceQuery, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_NetworkServiceResponse__Output>;
  find(argument: _registry_NetworkServiceQuery, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_NetworkServiceResponse__Output>;
  find(argument: _registry_NetworkServiceQuery, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_NetworkServiceResponse__Output>;
  
  Register(argument: _registry_NetworkService, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_NetworkService__Output>): grpc.ClientUnaryCall;
  Register(argument: _registry_NetworkService, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_NetworkService__Output>): grpc.ClientUnaryCall;
  Register(argument: _registry_NetworkService, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_NetworkService__Output>): grpc.ClientUnaryCall;
  Register(argument: _registry_NetworkService, callback: grpc.requestCallback<_registry_NetworkService__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_NetworkService, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_NetworkService__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_NetworkService, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_NetworkService__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_NetworkService, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_NetworkService__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_NetworkService, callback: grpc.requestCallback<_registry_NetworkService__Output>): grpc.ClientUnaryCall;
  
  Unregister(argument: _registry_NetworkService, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Unregister(argument: _registry_NetworkService, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Unregister(argument: _registry_NetworkService, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Unregister(argument: _registry_NetworkService, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregister(argument: _registry_NetworkService, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregister(argument: _registry_NetworkService, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregister(argument: _registry_NetworkService, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregister(argument: _registry_NetworkService, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  
}

export interface NetworkServiceRegistryHandlers extends grpc.UntypedServiceImplementation {
  Find: grpc.handleServerStreamingCall<_registry_NetworkServiceQuery__Output, _registry_NetworkServiceResponse>;
  
  Register: grpc.handleUnaryCall<_registry_NetworkService__Output, _registry_NetworkService>;
  
  Unregister: grpc.handleUnaryCall<_registry_NetworkService__Output, _google_protobuf_Empty>;
  
}

export interface NetworkServiceRegistryDefinition extends grpc.ServiceDefinition {
  Find: MethodDefinition<_registry_NetworkServiceQuery, _registry_NetworkServiceResponse, _registry_NetworkServiceQuery__Output, _registry_NetworkServiceResponse__Output>
  Register: MethodDefinition<_registry_NetworkService, _registry_NetworkService, _registry_NetworkService__Output, _registry_NetworkService__Output>
  Unregister: MethodDefinition<_registry_NetworkService, _google_protobuf_Empty, _registry_NetworkService__Output, _google_protobuf_Empty__Output>
}

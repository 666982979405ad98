// Original file: spiffe/workload.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { X509SVIDRequest as _X509SVIDRequest, X509SVIDRequest__Output as _X509SVIDRequest__Output } from './X509SVIDRequest.js';
import type { X509SVIDResponse as _X509SVIDResponse, X509SVIDResponse__Output as _X509SVIDResponse__Output } from './X509SVIDResponse.js';

export interface SpiffeWorkloadAPIClient extends grpc.Client {
  FetchX509SVID(argument: _X509SVIDRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509SVIDResponse__Output>;
  FetchX509SVID(argument: _X509SVIDRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509SVIDResponse__Output>;
  fetchX509Svid(argument: _X509SVIDRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509SVIDResponse__Output>;
  fetchX509Svid(argument: _X509SVIDRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509SVIDResponse__Output>;
  
}

export interface SpiffeWorkloadAPIHandlers extends grpc.UntypedServiceImplementation {
  FetchX509SVID: grpc.handleServerStreamingCall<_X509SVIDRequest__Output, _X509SVIDResponse>;
  
}

export interface SpiffeWorkloadAPIDefinition extends grpc.ServiceDefinition {
  FetchX509SVID: MethodDefinition<_X509SVIDRequest, _X509SVIDResponse, _X509SVIDRequest__Output, _X509SVIDResponse__Output>
}

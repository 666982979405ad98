// Original file: ipam/ipam.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { PrefixRequest as _ipam_PrefixRequest, PrefixRequest__Output as _ipam_PrefixRequest__Output } from '../ipam/PrefixRequest.js';
import type { PrefixResponse as _ipam_PrefixResponse, PrefixResponse__Output as _ipam_PrefixResponse__Output } from '../ipam/PrefixResponse.js';

export interface IPAMClient extends grpc.Client {
  ManagePrefixes(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ipam_PrefixRequest, _ipam_PrefixResponse__Output>;
  ManagePrefixes(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ipam_PrefixRequest, _ipam_PrefixResponse__Output>;
  managePrefixes(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ipam_PrefixRequest, _ipam_PrefixResponse__Output>;
  managePrefixes(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ipam_PrefixRequest, _ipam_PrefixResponse__Output>;
  
}

export interface IPAMHandlers extends grpc.UntypedServiceImplementation {
  ManagePrefixes: grpc.handleBidiStreamingCall<_ipam_PrefixRequest__Output, _ipam_PrefixResponse>;
  
}

export interface IPAMDefinition extends grpc.ServiceDefinition {
  ManagePrefixes: MethodDefinition<_ipam_PrefixRequest, _ipam_PrefixResponse, _ipam_PrefixRequest__Output, _ipam_PrefixResponse__Output>
}

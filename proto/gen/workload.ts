import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { SpiffeWorkloadAPIClient as _SpiffeWorkloadAPIClient, SpiffeWorkloadAPIDefinition as _SpiffeWorkloadAPIDefinition } from './SpiffeWorkloadAPI.js';
import type { X509SVID as _X509SVID, X509SVID__Output as _X509SVID__Output } from './X509SVID.js';
import type { X509SVIDRequest as _X509SVIDRequest, X509SVIDRequest__Output as _X509SVIDRequest__Output } from './X509SVIDRequest.js';
import type { X509SVIDResponse as _X509SVIDResponse, X509SVIDResponse__Output as _X509SVIDResponse__Output } from './X509SVIDResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  SpiffeWorkloadAPI: SubtypeConstructor<typeof grpc.Client, _SpiffeWorkloadAPIClient> & { service: _SpiffeWorkloadAPIDefinition }
  X509SVID: MessageTypeDefinition<_X509SVID, _X509SVID__Output>
  X509SVIDRequest: MessageTypeDefinition<_X509SVIDRequest, _X509SVIDRequest__Output>
  X509SVIDResponse: MessageTypeDefinition<_X509SVIDResponse, _X509SVIDResponse__Output>
}


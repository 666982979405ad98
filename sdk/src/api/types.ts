/**
 * The wire types used throughout the SDK: the decoded ("output") forms generated from the NSM API v1
 * protos, where every scalar, list and map is present and message fields are `null` when absent.
 */
import type { Connection__Output } from '@nsm-ts/proto/gen/connection/Connection.js';
import type { ConnectionEvent__Output } from '@nsm-ts/proto/gen/connection/ConnectionEvent.js';
import type { Mechanism__Output } from '@nsm-ts/proto/gen/connection/Mechanism.js';
import type { MonitorScopeSelector__Output } from '@nsm-ts/proto/gen/connection/MonitorScopeSelector.js';
import type { Path__Output } from '@nsm-ts/proto/gen/connection/Path.js';
import type { PathSegment__Output } from '@nsm-ts/proto/gen/connection/PathSegment.js';
import type { ConnectionContext__Output } from '@nsm-ts/proto/gen/connectioncontext/ConnectionContext.js';
import type { IPContext__Output } from '@nsm-ts/proto/gen/connectioncontext/IPContext.js';
import type { Route__Output } from '@nsm-ts/proto/gen/connectioncontext/Route.js';
import type { Timestamp__Output } from '@nsm-ts/proto/gen/google/protobuf/Timestamp.js';
import type { NetworkServiceRequest__Output } from '@nsm-ts/proto/gen/networkservice/NetworkServiceRequest.js';
import type { Destination__Output } from '@nsm-ts/proto/gen/registry/Destination.js';
import type { Match__Output } from '@nsm-ts/proto/gen/registry/Match.js';
import type { NetworkService__Output } from '@nsm-ts/proto/gen/registry/NetworkService.js';
import type { NetworkServiceEndpoint__Output } from '@nsm-ts/proto/gen/registry/NetworkServiceEndpoint.js';

export type Connection = Connection__Output;
export type ConnectionEvent = ConnectionEvent__Output;
export type Mechanism = Mechanism__Output;
export type MonitorScopeSelector = MonitorScopeSelector__Output;
export type Path = Path__Output;
export type PathSegment = PathSegment__Output;
export type ConnectionContext = ConnectionContext__Output;
export type IPContext = IPContext__Output;
export type Route = Route__Output;
export type Timestamp = Timestamp__Output;
export type NetworkServiceRequest = NetworkServiceRequest__Output;
export type NetworkService = NetworkService__Output;
export type NetworkServiceEndpoint = NetworkServiceEndpoint__Output;
export type Match = Match__Output;
export type Destination = Destination__Output;

/** Connection states and monitor event types, as generated from the protos (string forms). */
export { State } from '@nsm-ts/proto/gen/connection/State.js';
export { ConnectionEventType as EventType } from '@nsm-ts/proto/gen/connection/ConnectionEventType.js';

/** Mechanism classes. */
export const MechanismClass = { LOCAL: 'LOCAL', REMOTE: 'REMOTE' } as const;
/** Mechanism types known to the mesh (the NSM API: proto/networkservice). */
export const MechanismType = {
  KERNEL: 'KERNEL',
  MEMIF: 'MEMIF',
  VXLAN: 'VXLAN',
  WIREGUARD: 'WIREGUARD',
  IPSEC: 'IPSEC',
  VFIO: 'VFIO',
  VLAN: 'VLAN',
  NOOP: 'NOOP',
} as const;
export type MechanismType = (typeof MechanismType)[keyof typeof MechanismType];

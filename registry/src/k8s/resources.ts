/**
 * The registry's custom resources: NetworkService and NetworkServiceEndpoint of
 * `networkservicemesh.io/v1`, whose `spec` is the registry message in its JSON form with snake_case
 * names, as upstream NSM stores it (`expiration_time` as `{seconds, nanos}`). Specs read from the API
 * are normalised through the protobuf codec, so a CR written by upstream or by hand reads as the same
 * record a gRPC caller would send, and a field of the wrong type is refused with its name.
 */
import { protos } from '@nsm-ts/proto';
import type { NetworkService, NetworkServiceEndpoint } from '@nsm-ts/sdk/api';

export const GROUP = 'networkservicemesh.io';
export const VERSION = 'v1';

/** A served custom resource and how its records map to CR specs. */
export interface Resource<T> {
  plural: string;
  kind: string;
  /** The record a CR holds (named after `metadata.name`). */
  fromCr(cr: CustomResource): T;
  /** The spec to store for `record`. */
  spec(record: T): Record<string, unknown>;
}

/** A custom resource as the API returns it. */
export interface CustomResource {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [key: string]: unknown };
  spec?: unknown;
}

/** Timestamps and 64-bit numbers as upstream's JSON carries them: numbers. */
function jsonSpec(record: object): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(record, function (this: unknown, key: string, value: unknown) {
      if (
        (key === 'expiration_time' || key === 'initial_registration_time') &&
        value &&
        typeof value === 'object'
      ) {
        const ts = value as { seconds: string | number; nanos: number };
        return { seconds: Number(ts.seconds), nanos: ts.nanos };
      }
      // Fields are left out when empty, as upstream's omitempty does; array elements stay as they are.
      if (Array.isArray(this)) return value;
      if (value === null || value === '' || (Array.isArray(value) && value.length === 0)) return undefined;
      return value;
    }),
  ) as Record<string, unknown>;
}

function normalise<T>(
  what: string,
  cr: CustomResource,
  codec: { requestSerialize(v: never): Buffer; requestDeserialize(b: Buffer): unknown },
  pick: (decoded: unknown) => T,
): T {
  const name = cr.metadata?.name ?? '';
  const spec = cr.spec && typeof cr.spec === 'object' ? cr.spec : {};
  try {
    const bytes = codec.requestSerialize({ [what]: { ...spec, name } } as never);
    return pick(codec.requestDeserialize(bytes));
  } catch (err) {
    throw new Error(
      `custom resource ${cr.kind ?? what} "${name}" has a spec that is not a ${what}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** NetworkServiceEndpoint CRs (`kubectl get nse`). */
export const NSE_RESOURCE: Resource<NetworkServiceEndpoint> = {
  plural: 'networkserviceendpoints',
  kind: 'NetworkServiceEndpoint',
  fromCr: (cr) =>
    normalise(
      'network_service_endpoint',
      cr,
      protos().registry.NetworkServiceEndpointRegistry.service.Find,
      (d) => (d as { network_service_endpoint: NetworkServiceEndpoint }).network_service_endpoint,
    ),
  spec: (nse) => jsonSpec(nse),
};

/** NetworkService CRs (`kubectl get netsvc`). */
export const NS_RESOURCE: Resource<NetworkService> = {
  plural: 'networkservices',
  kind: 'NetworkService',
  fromCr: (cr) =>
    normalise(
      'network_service',
      cr,
      protos().registry.NetworkServiceRegistry.service.Find,
      (d) => (d as { network_service: NetworkService }).network_service,
    ),
  spec: (ns) => jsonSpec(ns),
};

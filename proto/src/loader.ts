/** Loads the NSM API v1 protos once per process for the gRPC boundary (the SDK's client and server). */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType as ConnectionPkg } from '../gen/connection.js';
import type { ProtoGrpcType as NetworkServicePkg } from '../gen/networkservice.js';
import type { ProtoGrpcType as RegistryPkg } from '../gen/registry.js';
import type { ProtoGrpcType as WorkloadPkg } from '../gen/workload.js';

/** Loader options; keep in line with the generator flags in scripts/gen-proto.mjs. */
export const loaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The folder holding the .proto files (this package's root), from source or from dist. */
export function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'networkservice', 'networkservice.proto'))) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('cannot find the proto/ folder above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The gRPC package objects of the mesh API. */
export type Packages = NetworkServicePkg & ConnectionPkg & RegistryPkg;
let loaded: Packages | undefined;

/** Whether `object` holds `pkg`.`service` as a service constructor with its definition. */
function hasService(object: grpc.GrpcObject, pkg: string, service: string): boolean {
  const namespace = object[pkg];
  if (!namespace || typeof namespace === 'function' || 'format' in namespace) return false;
  const ctor = namespace[service];
  return typeof ctor === 'function' && 'service' in ctor;
}

/** The loaded packages are the generated types' (`proto/gen`) when every mesh service is there. */
function isMeshPackages(object: grpc.GrpcObject): object is grpc.GrpcObject & Packages {
  return (
    hasService(object, 'networkservice', 'NetworkService') &&
    hasService(object, 'connection', 'MonitorConnection') &&
    hasService(object, 'registry', 'NetworkServiceEndpointRegistry') &&
    hasService(object, 'registry', 'NetworkServiceRegistry')
  );
}

/** The gRPC package objects for networkservice, connection and registry. */
export function protos(): Packages {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(
    ['networkservice/networkservice.proto', 'networkservice/connection.proto', 'registry/registry.proto'],
    { ...loaderOptions, includeDirs: [protoRoot()] },
  );
  const object = grpc.loadPackageDefinition(definition);
  if (!isMeshPackages(object)) throw new Error(`the protos under ${protoRoot()} lack a mesh service`);
  loaded = object;
  return loaded;
}

/** The SPIFFE Workload API package object. */
export type WorkloadApiPackage = WorkloadPkg;
let workload: WorkloadApiPackage | undefined;

function isWorkloadPackage(object: grpc.GrpcObject): object is grpc.GrpcObject & WorkloadApiPackage {
  const ctor = object['SpiffeWorkloadAPI'];
  return typeof ctor === 'function' && 'service' in ctor;
}

/** The SPIFFE Workload API (X.509 part), for identities from a SPIRE agent. */
export function workloadApiProtos(): WorkloadApiPackage {
  if (workload) return workload;
  const definition = protoLoader.loadSync(['spiffe/workload.proto'], {
    ...loaderOptions,
    includeDirs: [protoRoot()],
  });
  const object = grpc.loadPackageDefinition(definition);
  if (!isWorkloadPackage(object))
    throw new Error(`${protoRoot()}/spiffe/workload.proto lacks SpiffeWorkloadAPI`);
  workload = object;
  return workload;
}

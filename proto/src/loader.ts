/** Loads the NSM API v1 protos once per process for the gRPC boundary (the SDK's client and server). */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType as ConnectionPkg } from '../gen/connection.js';
import type { ProtoGrpcType as NetworkServicePkg } from '../gen/networkservice.js';
import type { ProtoGrpcType as RegistryPkg } from '../gen/registry.js';

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

/** The gRPC package objects for networkservice, connection and registry. */
export function protos(): Packages {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(
    ['networkservice/networkservice.proto', 'networkservice/connection.proto', 'registry/registry.proto'],
    { ...loaderOptions, includeDirs: [protoRoot()] },
  );
  loaded = grpc.loadPackageDefinition(definition) as unknown as Packages;
  return loaded;
}

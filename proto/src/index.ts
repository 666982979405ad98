/**
 * @nsm-ts/proto: the NSM API v1 .proto files (wire-compatible with upstream Network Service Mesh) and
 * the SPIFFE Workload API's X.509 part, the TypeScript types generated from them (`@nsm-ts/proto/gen/...`), and their loader.
 * Usage: `const { networkservice } = protos()`.
 */
export {
  loaderOptions,
  protoRoot,
  protos,
  workloadApiProtos,
  type Packages,
  type WorkloadApiPackage,
} from './loader.js';

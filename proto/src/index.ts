/**
 * @nsm-ts/proto: the NSM API v1 .proto files (wire-compatible with upstream Network Service Mesh),
 * the TypeScript types generated from them (`@nsm-ts/proto/gen/...`), and their loader.
 * Usage: `const { networkservice } = protos()`.
 */
export { loaderOptions, protoRoot, protos, type Packages } from './loader.js';

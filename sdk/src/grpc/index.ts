/** The gRPC boundary: dialling mesh servers, serving chains, mesh URLs. */
export * from './call-metadata.js';
export * from './client.js';
export * from './server.js';
export * from './url.js';
export * from './workload-api.js';

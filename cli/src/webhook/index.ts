/** The admission webhook: mutation, its HTTPS server, its configuration and its cluster side. */
export * from './cluster.js';
export * from './config.js';
export * from './mutate.js';
export * from './server.js';

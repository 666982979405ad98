/** The products: client, endpoint, manager and forwarder chains assembled from elements. */
export * from './client.js';
export * from './endpoint.js';
export * from './forwarder.js';
export * from './manager.js';
export * from './server-prologue.js';
export * from './next-hop.js';

/** The registry chains and elements: memory store, cache, client, refresh, expiry, local bypass. */
export * from './cache/cache.js';
export * from './chains.js';
export * from './client/client.js';
export * from './connect/connect.js';
export * from './connect/path.js';
export * from './expire/expire.js';
export * from './localbypass/localbypass.js';
export * from './memory/match.js';
export * from './memory/memory.js';
export * from './memory/store.js';
export * from './nodelabels/nodelabels.js';
export * from './refresh/refresh.js';
export * from './refresh/watch-self.js';
export * from './registration-time/registration-time.js';
export * from './setname/setname.js';
export * from './setpayload/setpayload.js';
export * from './validate/validate.js';

/** @nsm-ts/forwarder: the forwarder daemon's building blocks (its configuration, chain start-up and offer). */
export * from './config.js';
export * from './forwarder.js';
export * from './offer.js';
